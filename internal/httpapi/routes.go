package httpapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

const apiPrefix = "/api/v3/"

// route finds the endpoint of a path. detail is true for a retrieve, with
// key the path's last segment (a pk or a slug), and for the flows'
// export action (/api/v3/flows/instances/<slug>/export/), with action set;
// label is the route template for metrics. A path deeper than that matches
// no endpoint.
func (s *Server) route(path string) (ep endpoint, key string, detail bool, action, label string) {
	rest, ok := strings.CutPrefix(path, apiPrefix)
	if !ok {
		return nil, "", false, "", "unmatched"
	}
	for _, e := range s.endpoints {
		r, ok := strings.CutPrefix(rest, e.kindInfo().route)
		if !ok || !strings.HasPrefix(r, "/") {
			continue
		}
		r = r[1:]
		if r == "" {
			return e, "", false, "", e.kindInfo().listRoute
		}
		// Django REST framework's router matches the pk as [^/.]+ and
		// needs the trailing slash.
		seg, ok := strings.CutSuffix(r, "/")
		if ok && seg != "" && !strings.ContainsAny(seg, "/.") {
			return e, seg, true, "", e.kindInfo().detailRoute
		}
		if e.kindInfo().kind == flowsv1alpha1.KindFlow {
			if slug, ok := strings.CutSuffix(r, "/"+exportAction+"/"); ok && slug != "" && !strings.ContainsAny(slug, "/.") {
				return e, slug, true, exportAction, exportRoute
			}
		}
	}
	return nil, "", false, "", "unmatched"
}

// ServeHTTP answers one request: 503 until the cache has synced, 404 for an
// unknown route, then (as DRF does) authentication, then 405 for a method
// other than GET or HEAD, then the endpoint. Every answer is JSON.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	ep, pk, isDetail, action, label := s.route(r.URL.Path)
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // a recovered panic value, compared as net/http compares it
				panic(p)
			}
			s.log.Error(fmt.Errorf("panic: %v", p), "answering an API request", "method", r.Method, "path", r.URL.Path)
			if sw.code == 0 {
				s.write(sw, detailResponse(500, msgServerError))
			}
		}
		s.metrics.observe(label, r.Method, sw.status(), time.Since(start).Seconds())
	}()
	// The API reads no body. A declared large one is refused; any other is
	// bounded, and the connection closed if a client sends more.
	if r.ContentLength > maxBodyBytes {
		s.write(sw, detailResponse(http.StatusRequestEntityTooLarge, msgTooLarge))
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, maxBodyBytes)
	s.write(sw, s.serve(r, ep, pk, isDetail, action))
}

func (s *Server) serve(r *http.Request, ep endpoint, pk string, isDetail bool, action string) response {
	if !s.synced.Load() {
		return detailResponse(503, msgUnavailable)
	}
	if ep == nil {
		return detailResponse(404, msgNotFound)
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
	defer cancel()
	rq := &request{
		values:   queryOf(r),
		rawQuery: r.URL.RawQuery,
		rv:       s.rv.forRequest(),
		maxBytes: s.opts.MaxResponseBytes,
		memo:     s.memo,
		fail: func(err error) {
			s.log.Error(err, "answering an API request", "method", r.Method, "path", r.URL.Path)
		},
	}
	if s.tokens != nil {
		c, msg, err := s.tokens.authenticate(ctx, r.Header.Get("Authorization"))
		if err != nil {
			return rq.reviewError(err)
		}
		if msg != "" {
			return detailResponse(403, msg)
		}
		rq.perm = permission{access: s.access, caller: c, resource: ep.kindInfo().resource,
			budget: newReviewBudget(s.opts.MaxAccessReviewsPerRequest)}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return response{status: 405, body: detail{Detail: `Method "` + r.Method + `" not allowed.`}}
	}
	switch {
	case action == exportAction:
		return ep.export(ctx, rq, pk)
	case isDetail:
		return ep.retrieve(ctx, rq, pk)
	}
	return ep.list(ctx, rq)
}

// queryOf is the request's query string, parsed; none is parsed when there is
// none, the usual retrieve.
func queryOf(r *http.Request) url.Values {
	if r.URL.RawQuery == "" {
		return url.Values{}
	}
	return r.URL.Query()
}
