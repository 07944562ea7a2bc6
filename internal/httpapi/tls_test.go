package httpapi

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagehand-dev/stagehand/internal/testenv"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "stagehand-api"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServesHTTPSWithACertificate: with a certificate and key the API speaks
// only TLS, with that certificate; a plain-HTTP request gets no API answer.
func TestServesHTTPSWithACertificate(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	_, addr, _ := serve(t, Options{Reader: fakeReader(t, fixtures()...), Auth: AuthNone, TLSCertFile: certFile, TLSKeyFile: keyFile})

	httpsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	path := addr + "/api/v3/stages/password/"
	testenv.Eventually(t, func() error {
		resp, err := httpsClient.Get("https://" + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"pagination"`) {
			return fmt.Errorf("status %d: %s", resp.StatusCode, body)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			return fmt.Errorf("not TLS 1.2 or later: %+v", resp.TLS)
		}
		return nil
	})

	resp, err := http.Get("http://" + path)
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), `"pagination"`) {
			t.Fatalf("plain HTTP got an API answer: %d %s", resp.StatusCode, body)
		}
	}
}

// TestTLSNeedsBothFiles: a certificate without its key (or the reverse) is
// refused at start, not served as plain HTTP by surprise.
func TestTLSNeedsBothFiles(t *testing.T) {
	for _, o := range []Options{{TLSCertFile: "tls.crt"}, {TLSKeyFile: "tls.key"}} {
		o.Addr, o.Reader, o.Auth = "127.0.0.1:0", fakeReader(t), AuthNone
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), "go together") {
			t.Errorf("New(cert %q, key %q) = %v, want a refusal naming both flags", o.TLSCertFile, o.TLSKeyFile, err)
		}
	}
}

// TestServesHTTPSWithGetCertificate: with GetCertificate (the manager's own
// CA, internal/apitls) the API speaks TLS with the certificate it returns at
// each handshake, so a renewed certificate is served at once; with a
// certificate from files as well, New refuses.
func TestServesHTTPSWithGetCertificate(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	certs := make([]tls.Certificate, 2)
	pools := make([]*x509.CertPool, 2)
	for i, dir := range []string{dir1, dir2} {
		certFile, keyFile, pool := selfSigned(t, dir)
		c, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			t.Fatal(err)
		}
		certs[i], pools[i] = c, pool
	}
	var current atomic.Int32
	get := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &certs[current.Load()], nil }
	_, addr, _ := serve(t, Options{Reader: fakeReader(t, fixtures()...), Auth: AuthNone, GetCertificate: get})
	for i := range certs {
		current.Store(int32(i))
		// A new client each time: a new handshake.
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pools[i]}}}
		testenv.Eventually(t, func() error {
			resp, err := c.Get("https://" + addr + "/api/v3/stages/password/")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		})
	}

	if _, err := New(Options{Addr: "127.0.0.1:0", Reader: fakeReader(t), Auth: AuthNone, GetCertificate: get, TLSCertFile: "a", TLSKeyFile: "b"}); err == nil {
		t.Error("New accepted a certificate from files and from GetCertificate")
	}
}

// TestTLSFilesReloadAndBadCertificate: a certificate that cannot be loaded
// stops the API at start with a clear error, rather than serving without
// one; a certificate renewed in place (cert-manager rewriting the mounted
// Secret) is served without a restart.
func TestTLSFilesReloadAndBadCertificate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.crt")
	if err := os.WriteFile(bad, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Addr: "127.0.0.1:0", Reader: fakeReader(t, fixtures()...), Auth: AuthNone, TLSCertFile: bad, TLSKeyFile: bad})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "the API cannot load its TLS certificate") {
		t.Errorf("Start with a bad certificate: %v, want the API to refuse to start", err)
	}

	certFile, keyFile, oldPool := selfSigned(t, dir)
	_, addr, _ := serve(t, Options{Reader: fakeReader(t, fixtures()...), Auth: AuthNone, TLSCertFile: certFile, TLSKeyFile: keyFile})
	url := "https://" + addr + "/api/v3/stages/password/"
	trusting := func(pool *x509.CertPool) func() error {
		return func() error {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true}}
			resp, err := c.Get(url)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("status %d", resp.StatusCode)
			}
			return nil
		}
	}
	testenv.Eventually(t, trusting(oldPool))

	// Renewed in place: a new key and certificate in the same files.
	_, _, newPool := selfSigned(t, dir)
	testenv.Eventually(t, trusting(newPool))
	if err := trusting(oldPool)(); err == nil {
		t.Error("the old certificate is still served after the files were renewed")
	}
}
