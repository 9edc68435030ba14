// Package plugintest is the conformance kit for delivery plugins: what a
// plugin author runs against their built executable to learn whether
// flexauth can rely on it.
//
// Run launches the plugin through flexauth's real host (plugins/host), so
// the handshake, the protocol version negotiation, the process boundary and
// the classification of errors (sdk.ErrPermanent or temporary) are exactly
// what production sees. It then checks, each as a named subtest:
//
//   - the handshake and Info (a name, a version, at least one channel);
//   - a send is delivered exactly once;
//   - a retried send with the same ID is not delivered again;
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
// A plugin process gets no environment from the host beyond PATH and
// TMPDIR: everything it needs must come through Config, in tests as in
// production.
//
// This package is test support: it imports testing and must only be
// imported from _test.go files, never from flexauth's production code.
package plugintest
