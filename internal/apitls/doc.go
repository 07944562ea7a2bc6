// Package apitls gives stagehand's API a certificate its clients can trust
// without cert-manager: a certificate authority of the manager's own, and a
// serving certificate it signs for the API Service's DNS names, issued and
// rotated by the elected leader and served by every replica. It knows
// nothing of the API: it hands out a tls.Config.GetCertificate and a readyz
// check (`--api-tls=self-signed`, the default, wires them into the API).
//
// # Where things are kept
//
// Two objects in the manager's namespace, which the deployment creates
// empty (config/default, the Helm chart) and the leader fills:
//
//   - a Secret (stagehand-api-certs) holding the CA certificate and key
//     (ca.crt, ca.key), the serving certificate and key (tls.crt, tls.key),
//     and during a CA rotation the next CA (next-ca.crt, next-ca.key) or
//     the previous CA's certificate (previous-ca.crt);
//   - a ConfigMap (stagehand-api-ca) whose key ca.crt is the bundle of CA
//     certificates clients trust: the CA, and during a rotation the next or
//     the previous one. Pods mount it (a configMap or projected volume);
//     it is not a secret.
//
// The manager may get, list, watch and update those two objects by name,
// and nothing else of their kinds in its namespace (config/rbac's
// api_tls_role.yaml). It may not create them: RBAC cannot limit create to a
// name, and a manager that may create Secrets in its namespace may mint
// tokens for any ServiceAccount there. So a deleted object is re-created by
// re-applying the deployment, never by the manager, which says so.
//
// Every replica reads the Secret through an informer that lists and watches
// that one Secret (a metadata.name field selector, which RBAC matches
// against resourceNames): no other Secret's data is ever cached. A change
// is served at the next TLS handshake.
//
// # Rotation
//
// With the default Policy: a CA lives 365 days, a serving certificate 90.
//
//   - The serving certificate is renewed when two thirds of its life have
//     passed (30 days before it expires), when it is not signed by the
//     current CA, or when the API Service's names change. It never outlives
//     its CA.
//   - 120 days before the CA expires, a successor is made and published
//     beside it in the bundle; it only starts signing 60 days later, so
//     that every client has reloaded the bundle (a mounted ConfigMap is
//     updated within a minute or two; a client that reads it only at start
//     has 60 days to restart). The old CA stays in the bundle until it
//     expires, 60 days after that, so a replica still serving the old
//     certificate for a moment is trusted too.
//   - A CA found expired, unreadable, or with a key that is not its own is
//     replaced at once (and with it the serving certificate): clients must
//     then reload the bundle.
//
// What is due is computed from the certificates' own dates, so a leader
// that takes over, or a manager restarted after weeks, does what is due and
// no more. Writes use the objects' resourceVersion: two leaders for a
// moment during a handover cannot overwrite each other's keys.
package apitls
