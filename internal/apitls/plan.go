package apitls

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"time"
)

// The keys of the Secret the elected leader keeps the certificates in. The
// serving pair is under the names a kubernetes.io/tls Secret uses.
const (
	// KeyServingCert and KeyServingKey are the certificate every replica
	// serves (its DNS names: the API Service's) and its private key.
	KeyServingCert = "tls.crt"
	KeyServingKey  = "tls.key"
	// KeyCACert and KeyCAKey are the CA that signs serving certificates.
	KeyCACert = "ca.crt"
	KeyCAKey  = "ca.key"
	// KeyNextCACert and KeyNextCAKey are the CA that will sign them next,
	// published in the bundle ahead of its use, while the CA expires.
	KeyNextCACert = "next-ca.crt"
	KeyNextCAKey  = "next-ca.key"
	// KeyPreviousCACert is the CA that signed them before, published until
	// it expires (its key is gone).
	KeyPreviousCACert = "previous-ca.crt"

	// BundleKey is the key of the CA ConfigMap: the CA certificates a
	// client of the API trusts, PEM, concatenated.
	BundleKey = "ca.crt"
)

// Policy says how long certificates live and when they are renewed.
type Policy struct {
	// CAValidity is how long a CA is valid. Default 365 days.
	CAValidity time.Duration
	// CAOverlap is how long a CA's successor is published before it signs
	// (so that clients that reload the bundle trust it in time), and how
	// long a CA stays published after it stopped signing (until it
	// expires). A successor is made when the CA has 2×CAOverlap left.
	// Default 60 days.
	CAOverlap time.Duration
	// ServingValidity is how long a serving certificate is valid (never
	// beyond its CA). It is renewed when two thirds of its life have
	// passed. Default 90 days.
	ServingValidity time.Duration
}

// Defaults of the Policy.
const (
	DefaultCAValidity      = 365 * 24 * time.Hour
	DefaultCAOverlap       = 60 * 24 * time.Hour
	DefaultServingValidity = 90 * 24 * time.Hour
)

func (p Policy) withDefaults() Policy {
	if p.CAValidity == 0 {
		p.CAValidity = DefaultCAValidity
	}
	if p.CAOverlap == 0 {
		p.CAOverlap = DefaultCAOverlap
	}
	if p.ServingValidity == 0 {
		p.ServingValidity = DefaultServingValidity
	}
	return p
}

func (p Policy) validate() error {
	if p.CAValidity <= 0 || p.CAOverlap <= 0 || p.ServingValidity <= 0 {
		return errors.New("apitls: validities must be positive")
	}
	if p.CAValidity <= 2*p.CAOverlap {
		return fmt.Errorf("apitls: a CA valid %s cannot publish its successor %s ahead of its use and keep being published %s after: it must be valid longer than twice the overlap", p.CAValidity, p.CAOverlap, p.CAOverlap)
	}
	return nil
}

// emergency is the fraction of CAOverlap before a CA's expiry at which its
// successor signs at once, however short the time it has been published:
// a CA can only be that close to expiry when the manager did not run for
// weeks.
const emergency = 8

// state is what the Secret holds, parsed. A piece that is missing,
// unreadable, or whose key is not its certificate's, is nil.
type state struct {
	ca, next, serving *keyPair
	previous          *x509.Certificate
	previousPEM       []byte
}

// readState parses the Secret's data. problems says what was there but could
// not be used (the plan replaces it).
func readState(data map[string][]byte) (s state, problems []string) {
	pair := func(what, certKey, keyKey string) *keyPair {
		if len(data[certKey]) == 0 && len(data[keyKey]) == 0 {
			return nil
		}
		k, err := parseKeyPair(data[certKey], data[keyKey])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s (%s, %s): %v", what, certKey, keyKey, err))
			return nil
		}
		return k
	}
	s.ca = pair("the CA", KeyCACert, KeyCAKey)
	s.next = pair("the next CA", KeyNextCACert, KeyNextCAKey)
	s.serving = pair("the serving certificate", KeyServingCert, KeyServingKey)
	if b := data[KeyPreviousCACert]; len(b) > 0 {
		c, err := parseCert(b)
		if err != nil {
			problems = append(problems, fmt.Sprintf("the previous CA (%s): %v", KeyPreviousCACert, err))
		} else {
			s.previous, s.previousPEM = c, b
		}
	}
	return s, problems
}

// data is the Secret's data for the state.
func (s state) data() map[string][]byte {
	d := map[string][]byte{}
	put := func(k *keyPair, certKey, keyKey string) {
		if k != nil {
			d[certKey], d[keyKey] = k.certPEM, k.keyPEM
		}
	}
	put(s.ca, KeyCACert, KeyCAKey)
	put(s.next, KeyNextCACert, KeyNextCAKey)
	put(s.serving, KeyServingCert, KeyServingKey)
	if s.previous != nil {
		d[KeyPreviousCACert] = s.previousPEM
	}
	return d
}

// bundle is what clients trust: the CA, its successor while it is
// published ahead of its use, and its predecessor until that expires.
func (s state) bundle() string {
	var b bytes.Buffer
	for _, pem := range [][]byte{pemOf(s.ca), pemOf(s.next), s.previousPEM} {
		b.Write(pem)
	}
	return b.String()
}

func pemOf(k *keyPair) []byte {
	if k == nil {
		return nil
	}
	return k.certPEM
}

// plan returns the state the Secret should hold at now: a valid CA, its
// successor when it is due, and a serving certificate for dnsNames signed
// by the CA and not yet due for renewal. changes says what it changed and
// why (nothing: the state is as it should be). next is when the plan will
// next have something to do.
func plan(now time.Time, s state, p Policy, dnsNames []string) (out state, changes []string, next time.Time, err error) {
	out = s
	valid := func(k *keyPair) bool {
		return k != nil && k.cert.IsCA && now.Before(k.cert.NotAfter)
	}
	remaining := func(k *keyPair) time.Duration { return k.cert.NotAfter.Sub(now) }

	// The CA that signs.
	if !valid(out.ca) {
		if valid(out.next) {
			out.ca, out.next, out.previous, out.previousPEM = out.next, nil, nil, nil
			changes = append(changes, "the CA is missing or expired: its successor signs from now on")
		} else {
			if out.ca, err = newCA(now, p.CAValidity); err != nil {
				return s, nil, time.Time{}, err
			}
			out.next, out.previous, out.previousPEM = nil, nil, nil
			changes = append(changes, "no valid CA: a new one")
		}
	}
	if out.next != nil && !valid(out.next) {
		out.next = nil
		changes = append(changes, "the next CA is not valid: dropped")
	}
	// Its successor, published ahead of its use.
	if out.next == nil && remaining(out.ca) < 2*p.CAOverlap {
		if out.next, err = newCA(now, p.CAValidity); err != nil {
			return s, nil, time.Time{}, err
		}
		changes = append(changes, fmt.Sprintf("the CA expires on %s: its successor is published now, and signs from %s",
			out.ca.cert.NotAfter.UTC().Format(time.DateOnly), now.Add(p.CAOverlap).UTC().Format(time.DateOnly)))
	}
	// The successor signs once it has been published long enough (or at
	// once when the CA is about to expire); the CA stays published until
	// it expires.
	if out.next != nil && (!now.Before(out.next.issued().Add(p.CAOverlap)) || remaining(out.ca) < p.CAOverlap/emergency) {
		out.previous, out.previousPEM = out.ca.cert, out.ca.certPEM
		out.ca, out.next = out.next, nil
		changes = append(changes, "the next CA signs from now on; the previous one stays published until it expires")
	}
	if out.previous != nil && !now.Before(out.previous.NotAfter) {
		out.previous, out.previousPEM = nil, nil
		changes = append(changes, "the previous CA expired: no longer published")
	}

	// The serving certificate.
	if why := servingProblem(now, out.serving, out.ca, dnsNames); why != "" {
		if out.serving, err = newServing(now, p.ServingValidity, out.ca, dnsNames); err != nil {
			return s, nil, time.Time{}, err
		}
		changes = append(changes, "a new serving certificate: "+why)
	}

	// When there is next something to do.
	next = renewal(out.serving)
	at := func(t time.Time) {
		if t.Before(next) {
			next = t
		}
	}
	if out.next == nil {
		at(out.ca.cert.NotAfter.Add(-2 * p.CAOverlap))
	} else {
		at(out.next.issued().Add(p.CAOverlap))
		at(out.ca.cert.NotAfter.Add(-p.CAOverlap / emergency))
	}
	if out.previous != nil {
		at(out.previous.NotAfter)
	}
	return out, changes, next, nil
}

// renewal is when a serving certificate is renewed: when two thirds of its
// life have passed.
func renewal(k *keyPair) time.Time {
	life := k.cert.NotAfter.Sub(k.issued())
	return k.issued().Add(life * 2 / 3)
}

// servingProblem says why the serving certificate must be replaced, or ""
// when it need not be.
func servingProblem(now time.Time, k, ca *keyPair, dnsNames []string) string {
	switch {
	case k == nil:
		return "there is none"
	case k.cert.CheckSignatureFrom(ca.cert) != nil:
		return "it is not signed by the CA"
	case !slices.Equal(k.cert.DNSNames, dnsNames):
		return fmt.Sprintf("it is for %q, not %q", k.cert.DNSNames, dnsNames)
	case !now.Before(renewal(k)):
		return fmt.Sprintf("it expires on %s", k.cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return ""
}
