package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	flowsv1alpha1 "github.com/stagehand-dev/stagehand/api/v1alpha1"
)

// waitForAPI waits until the API answers 200 to a real request, as the
// reader (or anonymously when auth is off), and returns that request's path:
// the retrieve endpoint of a sample IdentificationStage, or the list
// endpoint when there is none.
func (d *dev) waitForAPI(ctx context.Context) (string, error) {
	path := "/api/v3/stages/identification/"
	var stages flowsv1alpha1.IdentificationStageList
	if err := d.client.List(ctx, &stages); err == nil && len(stages.Items) > 0 {
		items := stages.Items
		sort.Slice(items, func(i, j int) bool {
			return items[i].Namespace+"/"+items[i].Name < items[j].Namespace+"/"+items[j].Name
		})
		path += string(items[0].UID) + "/"
	}

	url := d.apiURL() + path
	var httpClient *http.Client
	if d.apiTLS != tlsSelfSigned {
		httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	deadline := time.Now().Add(d.timeout)
	last := "nothing listens there yet"
	// pause waits a moment before the next try, or says why there is none.
	pause := func() error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the API did not serve GET %s within %s: %s", url, d.timeout, last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
		return nil
	}
	for {
		select {
		case err := <-d.exited:
			d.manager = nil
			return "", fmt.Errorf("the manager exited before its API served (%w)", err)
		default:
		}
		if httpClient == nil {
			// With TLS, a client that trusts the CA the manager publishes
			// (once it has), and reaches the Service's name at our address.
			httpClient, last = d.tlsClient(ctx)
		}
		if httpClient != nil {
			ok, err := d.served(ctx, httpClient, url, &last)
			if err != nil {
				return "", err
			}
			if ok {
				return path, nil
			}
		}
		if err := pause(); err != nil {
			return "", err
		}
	}
}

// served sends one GET of url, as the reader, and says whether it was
// answered 200; otherwise last says what happened instead.
func (d *dev) served(ctx context.Context, httpClient *http.Client, url string, last *string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err
	}
	if d.readerToken != "" {
		req.Header.Set("Authorization", "Bearer "+d.readerToken)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		if !strings.Contains(err.Error(), "connection refused") {
			*last = err.Error()
		}
		return false, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return true, nil
	}
	*last = fmt.Sprintf("it answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	return false, nil
}

// tlsClient returns an HTTP client that trusts the CA the manager published
// in its ConfigMap, copied to caFile, and dials the API's address for the
// Service's name; or nil, and why, while there is no CA yet.
func (d *dev) tlsClient(ctx context.Context) (*http.Client, string) {
	var cm corev1.ConfigMap
	if err := d.client.Get(ctx, client.ObjectKey{Namespace: managerNamespace, Name: apiCAConfigMap}, &cm); err != nil {
		return nil, fmt.Sprintf("reading ConfigMap %s/%s: %v", managerNamespace, apiCAConfigMap, err)
	}
	bundle := cm.Data["ca.crt"]
	pool := x509.NewCertPool()
	if bundle == "" || !pool.AppendCertsFromPEM([]byte(bundle)) {
		return nil, fmt.Sprintf("the manager has not published its CA in ConfigMap %s/%s yet", managerNamespace, apiCAConfigMap)
	}
	if err := os.WriteFile(d.caFile(), []byte(bundle), 0o644); err != nil {
		return nil, err.Error()
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			// As curl --connect-to does: the URL's name, our address.
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, d.apiAddr)
			},
		},
	}, ""
}
