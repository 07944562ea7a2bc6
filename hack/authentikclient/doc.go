// Package authentikclient holds a test: authentik's published Go client,
// goauthentik.io/api/v3 at authentik 2026.8's version, reads every endpoint
// stagehand's API serves. `make test` runs it.
package authentikclient
