// Package plugintest is the conformance kit for plugins: what a plugin
// author runs against their built executable to learn whether flexauth can
// rely on it. Run checks delivery plugins, RunIdentity identity plugins.
//
// Run launches the plugin through flexauth's real host (plugins/host), so
// the handshake, the protocol version negotiation, the process boundary and
// the classification of errors (sdk.ErrPermanent or temporary) are exactly
// what production sees. It then checks, each as a named subtest (the two
// checks of repeated IDs always pass for a plugin served by
// sdk.ServeDelivery, which remembers delivered IDs itself; they are there
// for plugins that speak the protocol without the SDK):
//
//   - the handshake and Info (a name, a version, at least one channel);
//   - a send is delivered exactly once;
//   - a retried send with the same ID is not delivered again, and gets the
//     first send's message ID;
//   - concurrent sends of the same ID are delivered once;
//   - an invalid request is refused permanently;
//   - an empty configuration is refused permanently;
//   - with Target.Unavailable: an outage fails temporarily, and the retry
//     after recovery is delivered once;
//   - with Target.Slow: a hanging destination does not outlive the
//     caller's deadline, and the plugin serves again afterwards;
//   - concurrent sends are each delivered once.
//
// The kit sees the destination only through the test's own sink (a fake
// SMTP server, an httptest receiver, a file): Target.Delivered counts what
// arrived there. The kit gives every send a fresh ID, so one sink can serve
// the whole run.
//
// # Usage
//
// Build the plugin once in TestMain, then run the kit in a test:
//
//	var pluginBin string // set once by TestMain
//
//	func TestMain(m *testing.M) {
//		os.Exit(plugintest.Main(m, map[*string]string{&pluginBin: "example.com/myplugin/cmd/flexauth-myplugin"}))
//	}
//
//	func TestConformance(t *testing.T) {
//		gw := newFakeGateway(t) // the test's sink: counts messages per ID
//		plugintest.Run(t, plugintest.Target{
//			Name:        "mysms",
//			Command:     []string{pluginBin},
//			Config:      map[string]string{"url": gw.URL, "token": "test-token"},
//			Valid:       sdk.SendRequest{Channel: "sms", To: "+41790000000", Text: "Your code is 123456", Code: "123456"},
//			Invalid:     sdk.SendRequest{Channel: "sms", To: "not a phone number"},
//			Delivered:   gw.Delivered,      // func(t testing.TB, id string) int
//			Unavailable: gw.SetUnavailable, // optional: answer 503 while on
//			Slow:        gw.SetSlow,        // optional: hang while on
//		})
//	}
//
// # Identity plugins
//
// RunIdentity launches the plugin through the same host, configured with
// kind identity, and checks, each as a named subtest:
//
//   - the handshake and Info (kind identity, a name, a version, the
//     capability "lookup");
//   - IdentityTarget.Known resolves to IdentityTarget.Want (Found true,
//     compared field by field; a nil and an empty slice or map are equal);
//   - IdentityTarget.Unknown is not found: Found false, no other field set,
//     and a nil error (an unknown user is an answer, not a failure);
//   - an empty configuration is refused permanently (a second process,
//     configured with an empty Config);
//   - launched as a delivery plugin (an operator who forgot "kind":
//     "identity"), it fails with sdk.ErrWrongKind, permanently;
//   - 20 concurrent lookups of Known all resolve to Want.
//
// The test provides the plugin's data through Config, a users file it
// writes, say:
//
//	func TestConformance(t *testing.T) {
//		path := filepath.Join(t.TempDir(), "users.csv")
//		if err := os.WriteFile(path, []byte("authid,name,email\nada,Ada Lovelace,ada@example.com\n"), 0o600); err != nil {
//			t.Fatal(err)
//		}
//		plugintest.RunIdentity(t, plugintest.IdentityTarget{
//			Name:    "mydirectory",
//			Command: []string{pluginBin}, // built by plugintest.Main
//			Config:  map[string]string{"path": path},
//			Known:   sdk.LookupRequest{Account: "acme", AuthID: "ada"},
//			Want:    sdk.Identity{Found: true, Name: "Ada Lovelace", Email: "ada@example.com"},
//			Unknown: sdk.LookupRequest{Account: "acme", AuthID: "nobody"},
//		})
//	}
//
// A plugin process gets no environment from the host beyond PATH and
// TMPDIR: everything it needs must come through Config, in tests as in
// production.
//
// This package is test support: it imports testing and must only be
// imported from _test.go files, never from flexauth's production code.
package plugintest
