package httpapi

import (
	"errors"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the API's Prometheus metrics. Routes are labelled with their
// templates ("/api/v3/stages/password/{stage_uuid}/"), never the raw path,
// so the number of series is fixed.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	reviews  *prometheus.CounterVec
	// series are the request series seen so far (bounded: routes, methods
	// and codes are).
	series sync.Map // seriesKey -> *series
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stagehand",
			Subsystem: "api",
			Name:      "requests_total",
			Help:      "HTTP requests to the authentik-compatible API, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "stagehand",
			Subsystem: "api",
			Name:      "request_duration_seconds",
			Help:      "Time to answer an HTTP request to the authentik-compatible API, by route template.",
			Buckets:   []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"route"}),
		reviews: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "stagehand",
			Subsystem: "api",
			Name:      "auth_reviews_total",
			Help:      "TokenReviews and SubjectAccessReviews the API sent to the API server (cache misses), by review and result.",
		}, []string{"review", "result"}),
	}
	if reg == nil {
		return m, nil
	}
	var err error
	m.requests, err = register(reg, m.requests)
	if err != nil {
		return nil, err
	}
	m.duration, err = register(reg, m.duration)
	if err != nil {
		return nil, err
	}
	m.reviews, err = register(reg, m.reviews)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector already registered under
// the same name (a second server in one process).
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, err
	}
	return c, nil
}

func (m *metrics) review(review, result string) {
	m.reviews.WithLabelValues(review, result).Inc()
}

func (m *metrics) observe(route, method string, code int, seconds float64) {
	key := seriesKey{route: route, method: methodLabel(method), code: code}
	s, ok := m.series.Load(key)
	if !ok {
		s, _ = m.series.LoadOrStore(key, &series{
			requests: m.requests.WithLabelValues(route, key.method, codeLabel(code)),
			duration: m.duration.WithLabelValues(route),
		})
	}
	ss := s.(*series)
	ss.requests.Inc()
	ss.duration.Observe(seconds)
}

// seriesKey names one request counter; its series are looked up once and
// kept, since a label lookup hashes its values on every call.
type seriesKey struct {
	route, method string
	code          int
}

type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE":
		return m
	}
	return "other"
}

// codeLabel spells a status code without allocating for the usual ones.
func codeLabel(code int) string {
	switch code {
	case 200:
		return "200"
	case 400:
		return "400"
	case 403:
		return "403"
	case 404:
		return "404"
	case 405:
		return "405"
	case 500:
		return "500"
	case 503:
		return "503"
	}
	return strconv.Itoa(code)
}
