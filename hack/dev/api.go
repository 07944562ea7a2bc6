package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

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

	url := "http://" + d.apiAddr + path
	httpClient := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(d.timeout)
	last := "nothing listens there yet"
	for {
		select {
		case err := <-d.exited:
			d.manager = nil
			return "", fmt.Errorf("the manager exited before its API served (%w)", err)
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return "", err
		}
		if d.readerToken != "" {
			req.Header.Set("Authorization", "Bearer "+d.readerToken)
		}
		resp, err := httpClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return path, nil
			}
			last = fmt.Sprintf("it answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
		} else if !strings.Contains(err.Error(), "connection refused") {
			last = err.Error()
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the API did not serve GET %s within %s: %s", url, d.timeout, last)
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
