// Package apitest is the HTTP client the api and e2e tests drive flexauth
// with: JSON calls with an API key, the app API's result assertions, the
// end-user pages and the audit trail, and the answers' types as
// api/openapi.json documents them (contract.go), decoded strictly by
// Decode. It holds no server: package deploytest builds the deployment and
// points a Client at it.
package apitest
