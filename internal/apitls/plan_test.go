package apitls

import (
	"crypto/x509"
	"encoding/pem"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	dnsNames = ServiceDNSNames("stagehand-api", "stagehand-system")
	t0       = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	day      = 24 * time.Hour
)

// roundTrip stores a state as the Secret does and reads it back.
func roundTrip(t *testing.T, s state) state {
	t.Helper()
	back, problems := readState(s.data())
	if len(problems) > 0 {
		t.Fatalf("reading back what was written: %v", problems)
	}
	return back
}

func mustPlan(t *testing.T, now time.Time, s state, p Policy) (state, []string, time.Time) {
	t.Helper()
	out, changes, next, err := plan(now, s, p.withDefaults(), dnsNames)
	if err != nil {
		t.Fatal(err)
	}
	return roundTrip(t, out), changes, next
}

// pool parses a bundle.
func pool(t *testing.T, bundle string) (*x509.CertPool, []*x509.Certificate) {
	t.Helper()
	p := x509.NewCertPool()
	var certs []*x509.Certificate
	rest := []byte(bundle)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		p.AddCert(c)
		certs = append(certs, c)
	}
	return p, certs
}

// trusted checks that the serving certificate is valid at now for every DNS
// name, for a client that trusts the bundle and nothing else.
func trusted(t *testing.T, now time.Time, s state) {
	t.Helper()
	roots, _ := pool(t, s.bundle())
	for _, name := range dnsNames {
		if _, err := s.serving.cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: name, CurrentTime: now}); err != nil {
			t.Fatalf("at %s the serving certificate is not trusted for %s: %v", now.Format(time.DateOnly), name, err)
		}
	}
}

// TestFirstIssue: from an empty Secret, a CA and a serving certificate for
// the Service's names that a client of the bundle trusts; planning again
// changes nothing.
func TestFirstIssue(t *testing.T) {
	s, changes, next := mustPlan(t, t0, state{}, Policy{})
	if len(changes) == 0 || s.ca == nil || s.serving == nil || s.next != nil || s.previous != nil {
		t.Fatalf("changes %v, state %+v", changes, s)
	}
	trusted(t, t0, s)
	if _, certs := pool(t, s.bundle()); len(certs) != 1 || !certs[0].IsCA {
		t.Errorf("the bundle holds %d certificates, want the CA alone", len(certs))
	}
	if got := s.serving.cert.NotAfter.Sub(t0); got != DefaultServingValidity {
		t.Errorf("the serving certificate is valid %s, want %s", got, DefaultServingValidity)
	}
	if got := s.ca.cert.NotAfter.Sub(t0); got != DefaultCAValidity {
		t.Errorf("the CA is valid %s, want %s", got, DefaultCAValidity)
	}
	if want := t0.Add(60 * day); !next.Equal(want) {
		t.Errorf("next look at %s, want %s (the serving certificate's renewal)", next, want)
	}
	again, changes, _ := mustPlan(t, t0.Add(time.Hour), s, Policy{})
	if len(changes) > 0 || !maps.EqualFunc(again.data(), s.data(), func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Errorf("planning again changed %v", changes)
	}
}

// TestRotationTimeline lives three years, a day at a time, as the leader
// would, and checks at every step what clients rely on: the serving
// certificate is valid and trusted by the bundle of the day; a CA signs only
// after it has been in the bundle for the overlap; a CA that signed stays in
// the bundle until it expires; the bundle never holds more than three
// certificates; and the plan is stable (planning twice changes nothing).
func TestRotationTimeline(t *testing.T) {
	p := Policy{}.withDefaults()
	s, _, _ := mustPlan(t, t0, state{}, p)
	published := map[string]time.Time{s.ca.cert.Subject.CommonName: t0}
	signers := []string{s.ca.cert.Subject.CommonName}
	servingIssued := 1
	for now := t0; now.Before(t0.Add(3 * 365 * day)); now = now.Add(day) {
		before := s
		var changes []string
		s, changes, _ = mustPlan(t, now, s, p)
		if _, again, _ := mustPlan(t, now, s, p); len(again) > 0 {
			t.Fatalf("at %s planning twice changed %v", now.Format(time.DateOnly), again)
		}
		trusted(t, now, s)
		_, bundle := pool(t, s.bundle())
		if len(bundle) > 3 {
			t.Fatalf("at %s the bundle holds %d certificates", now.Format(time.DateOnly), len(bundle))
		}
		inBundle := map[string]bool{}
		for _, c := range bundle {
			inBundle[c.Subject.CommonName] = true
			if _, seen := published[c.Subject.CommonName]; !seen {
				published[c.Subject.CommonName] = now
			}
		}
		signer := s.ca.cert.Subject.CommonName
		if signer != signers[len(signers)-1] {
			if since := now.Sub(published[signer]); since < p.CAOverlap {
				t.Fatalf("at %s CA %s signs after %s in the bundle, want at least %s", now.Format(time.DateOnly), signer, since, p.CAOverlap)
			}
			signers = append(signers, signer)
		}
		// Every CA that signed and has not expired is in the bundle.
		for _, c := range []*keyPair{before.ca} {
			if c != nil && now.Before(c.cert.NotAfter) && !inBundle[c.cert.Subject.CommonName] {
				t.Fatalf("at %s CA %s, valid until %s, left the bundle", now.Format(time.DateOnly), c.cert.Subject.CommonName, c.cert.NotAfter.Format(time.DateOnly))
			}
		}
		if before.serving.cert.SerialNumber.Cmp(s.serving.cert.SerialNumber) != 0 {
			servingIssued++
			if len(changes) == 0 {
				t.Fatal("a new serving certificate without a reason")
			}
		}
	}
	// Three years: a successor is made 120 days before its CA expires and
	// signs 60 days later, so each CA signs for 245 days: from days 0,
	// 305, 550, 795 and 1040. A serving certificate every 60 days, and one
	// more at each change of CA.
	if len(signers) != 5 {
		t.Errorf("%d CAs signed in three years, want 5: %v", len(signers), signers)
	}
	if servingIssued < 3*365/60 || servingIssued > 3*365/60+len(signers)+1 {
		t.Errorf("%d serving certificates in three years", servingIssued)
	}
}

// TestServingCertificateRenewed: for a new name, when two thirds of its life
// have passed, and when it is signed by another CA; never beyond its CA.
func TestServingCertificateRenewed(t *testing.T) {
	s, _, _ := mustPlan(t, t0, state{}, Policy{})
	if _, changes, _ := mustPlan(t, t0.Add(59*day), s, Policy{}); len(changes) > 0 {
		t.Errorf("renewed at 59 days: %v", changes)
	}
	r, changes, _ := mustPlan(t, t0.Add(60*day), s, Policy{})
	if len(changes) != 1 || !strings.Contains(changes[0], "expires") || r.serving.cert.SerialNumber.Cmp(s.serving.cert.SerialNumber) == 0 {
		t.Errorf("at 60 days: %v", changes)
	}
	if r.ca.cert.SerialNumber.Cmp(s.ca.cert.SerialNumber) != 0 {
		t.Error("renewing the serving certificate changed the CA")
	}

	out, changes, _, err := plan(t0, s, Policy{}.withDefaults(), []string{"stagehand-api.other", "stagehand-api.other.svc"})
	if err != nil || len(changes) != 1 || !slices.Equal(out.serving.cert.DNSNames, []string{"stagehand-api.other", "stagehand-api.other.svc"}) {
		t.Errorf("for new names: %v %v %v", changes, out.serving.cert.DNSNames, err)
	}

	other, _, _ := mustPlan(t, t0, state{}, Policy{})
	mixed := s
	mixed.serving = other.serving
	out, changes, _ = mustPlan(t, t0, mixed, Policy{})
	if len(changes) != 1 || !strings.Contains(changes[0], "not signed by the CA") {
		t.Errorf("a serving certificate of another CA: %v", changes)
	}
	trusted(t, t0, out)

	// Near the CA's end, the certificate ends with it.
	late, _, _ := mustPlan(t, t0.Add(360*day), state{ca: s.ca}, Policy{})
	if late.serving.cert.NotAfter.After(late.ca.cert.NotAfter) {
		t.Errorf("the serving certificate outlives its CA: %s > %s", late.serving.cert.NotAfter, late.ca.cert.NotAfter)
	}
}

// TestLateLeader: a manager that did not run for months does what is due,
// and no more. A CA days from expiry without a successor gets one that signs
// at once (clients have no time to reload anyway); an expired CA with a
// published successor gives way to it; an expired CA without one is
// replaced.
func TestLateLeader(t *testing.T) {
	s, _, _ := mustPlan(t, t0, state{}, Policy{})

	// 3 days before the CA expires, no successor yet.
	now := s.ca.cert.NotAfter.Add(-3 * day)
	late, changes, _ := mustPlan(t, now, s, Policy{})
	if late.ca.cert.Equal(s.ca.cert) || late.previous == nil || !late.previous.Equal(s.ca.cert) || late.next != nil {
		t.Errorf("3 days before expiry: changes %v", changes)
	}
	trusted(t, now, late)

	// Expired, with a successor published in time.
	withNext, _, _ := mustPlan(t, s.ca.cert.NotAfter.Add(-100*day), s, Policy{})
	if withNext.next == nil {
		t.Fatal("no successor 100 days before expiry")
	}
	now = s.ca.cert.NotAfter.Add(day)
	out, changes, _ := mustPlan(t, now, withNext, Policy{})
	if !out.ca.cert.Equal(withNext.next.cert) || out.previous != nil {
		t.Errorf("after expiry, with a successor: %v", changes)
	}
	trusted(t, now, out)

	// Expired, alone.
	out, changes, _ = mustPlan(t, now, s, Policy{})
	if out.ca.cert.Equal(s.ca.cert) || !slices.Contains(changes, "no valid CA: a new one") {
		t.Errorf("after expiry, alone: %v", changes)
	}
	trusted(t, now, out)
}

// TestUnusableData: what cannot be used is reported and replaced, and what
// can is kept.
func TestUnusableData(t *testing.T) {
	s, _, _ := mustPlan(t, t0, state{}, Policy{})
	other, _, _ := mustPlan(t, t0, state{}, Policy{})
	for _, tc := range []struct {
		name   string
		edit   func(map[string][]byte)
		keepCA bool
	}{
		{"garbage serving certificate", func(d map[string][]byte) { d[KeyServingCert] = []byte("garbage") }, true},
		{"serving key of another certificate", func(d map[string][]byte) { d[KeyServingKey] = other.serving.keyPEM }, true},
		{"CA key of another CA", func(d map[string][]byte) { d[KeyCAKey] = other.ca.keyPEM }, false},
		{"no CA key", func(d map[string][]byte) { delete(d, KeyCAKey) }, false},
		{"garbage previous CA", func(d map[string][]byte) {
			d[KeyPreviousCACert] = []byte("-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n")
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := s.data()
			tc.edit(d)
			st, problems := readState(d)
			if len(problems) != 1 {
				t.Errorf("problems %v, want one", problems)
			}
			out, _, _ := mustPlan(t, t0, st, Policy{})
			if kept := out.ca.cert.Equal(s.ca.cert); kept != tc.keepCA {
				t.Errorf("CA kept: %v, want %v", kept, tc.keepCA)
			}
			trusted(t, t0, out)
		})
	}
}

func TestPolicyValidated(t *testing.T) {
	for _, p := range []Policy{
		{CAValidity: 100 * day, CAOverlap: 50 * day},
		{CAValidity: -day},
	} {
		if err := p.withDefaults().validate(); err == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if err := (Policy{}).withDefaults().validate(); err != nil {
		t.Errorf("the defaults: %v", err)
	}
}
