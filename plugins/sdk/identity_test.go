package sdk_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-plugin"

	"github.com/flexauth/flexauth/plugins/internal/grpcclient"
	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// directory is an identity plugin knowing one user, "ada".
type directory struct{ configured map[string]string }

func (d *directory) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "dir", Version: "1", Capabilities: []string{sdk.CapabilityLookup}}, nil
}

func (d *directory) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	config := req.Config
	if config["path"] == "" {
		return sdk.Permanent(errors.New(`missing "path"`))
	}
	d.configured = config
	return nil
}

func (d *directory) Lookup(_ context.Context, req sdk.LookupRequest) (sdk.Identity, error) {
	switch req.AuthID {
	case "ada":
		return sdk.Identity{Found: true, Name: "Ada", Email: "ada@example.com", Phone: "+15550100",
			Groups: []string{"admins"}, Attributes: map[string]string{"account": req.Account}}, nil
	case "down":
		return sdk.Identity{}, errors.New("ldap server unreachable")
	}
	return sdk.Identity{Found: false, Name: "leaked"}, nil
}

// mailer is a delivery plugin that delivers nothing.
type mailer struct{}

func (mailer) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "mailer", Version: "1", Channels: []string{"email"}}, nil
}
func (mailer) Configure(context.Context, sdk.ConfigureRequest) error { return nil }
func (mailer) Send(context.Context, sdk.SendRequest) (sdk.SendResponse, error) {
	return sdk.SendResponse{}, nil
}

// connect serves served over an in-memory gRPC connection, the way a plugin
// process would, and returns the host's side of it, able to dispense every
// kind as the real host is.
func connect(t *testing.T, served map[int]plugin.PluginSet) plugin.ClientProtocol {
	t.Helper()
	conn, _ := plugin.TestPluginGRPCConn(t, false, served[wire.ProtocolVersion])
	conn.Plugins = grpcclient.VersionedPlugins()[wire.ProtocolVersion]
	// Closing the client shuts the server down through go-plugin's
	// controller; stopping it here as well would race with that.
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestIdentityCrossesTheProcessBoundary(t *testing.T) {
	impl := &directory{}
	idp, err := grpcclient.DispenseIdentity(connect(t, sdk.IdentityPlugins(impl)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	info, err := idp.Info(ctx)
	if err != nil {
		t.Fatalf("info: %v", err)
	}
	want := sdk.Info{Name: "dir", Version: "1", Capabilities: []string{sdk.CapabilityLookup}, Kind: sdk.KindIdentity}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info = %+v, want %+v", info, want)
	}

	if err := idp.Configure(ctx, sdk.ConfigureRequest{}); !errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("configure without a path: error = %v, want permanent", err)
	}
	if err := idp.Configure(ctx, sdk.ConfigureRequest{Config: map[string]string{"path": "/u.csv"}}); err != nil || impl.configured["path"] != "/u.csv" {
		t.Fatalf("configure: %v (plugin got %v)", err, impl.configured)
	}

	id, err := idp.Lookup(ctx, sdk.LookupRequest{Account: "acme", AuthID: "ada"})
	if err != nil {
		t.Fatalf("lookup: %v", err)
	}
	wantID := sdk.Identity{Found: true, Name: "Ada", Email: "ada@example.com", Phone: "+15550100",
		Groups: []string{"admins"}, Attributes: map[string]string{"account": "acme"}}
	if !reflect.DeepEqual(id, wantID) {
		t.Errorf("lookup = %+v, want %+v", id, wantID)
	}

	id, err = idp.Lookup(ctx, sdk.LookupRequest{Account: "acme", AuthID: "mallory"})
	if err != nil || !reflect.DeepEqual(id, sdk.Identity{}) {
		t.Errorf("lookup of an unknown user = %+v, %v; want the zero Identity and no error", id, err)
	}

	_, err = idp.Lookup(ctx, sdk.LookupRequest{AuthID: "down"})
	if err == nil || errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "ldap server unreachable") {
		t.Errorf("lookup during an outage: error = %v, want the plugin's temporary error", err)
	}
}

func TestDeliveryInfoReportsItsKind(t *testing.T) {
	d, err := grpcclient.DispenseDelivery(connect(t, sdk.DeliveryPlugins(mailer{})))
	if err != nil {
		t.Fatal(err)
	}
	info, err := d.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if info.Kind != sdk.KindDelivery || !reflect.DeepEqual(info.Channels, []string{"email"}) {
		t.Fatalf("info = %+v", info)
	}
}

func TestDispensingTheWrongKindFailsClearly(t *testing.T) {
	t.Run("a delivery plugin used as identity", func(t *testing.T) {
		idp, err := grpcclient.DispenseIdentity(connect(t, sdk.DeliveryPlugins(mailer{})))
		if err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"Info":      func() error { _, err := idp.Info(t.Context()); return err },
			"Configure": func() error { return idp.Configure(t.Context(), sdk.ConfigureRequest{}) },
		} {
			err := call()
			if !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
				t.Errorf("%s: error = %v, want permanent ErrWrongKind", name, err)
			}
			if err != nil && !strings.Contains(err.Error(), "identity protocol") {
				t.Errorf("%s: error %q does not name the protocol", name, err)
			}
		}
	})
	t.Run("an identity plugin used as delivery", func(t *testing.T) {
		d, err := grpcclient.DispenseDelivery(connect(t, sdk.IdentityPlugins(&directory{})))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Configure(t.Context(), sdk.ConfigureRequest{}); !errors.Is(err, sdk.ErrWrongKind) || !errors.Is(err, sdk.ErrPermanent) {
			t.Fatalf("configure: error = %v, want permanent ErrWrongKind", err)
		}
	})
}

// signOnDirectory is a directory that also signs users on.
type signOnDirectory struct {
	directory
	got sdk.ExchangeRequest
}

func (d *signOnDirectory) Authorize(_ context.Context, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	if req.State == "" {
		return sdk.AuthorizeResponse{}, sdk.Permanent(errors.New("missing state"))
	}
	return sdk.AuthorizeResponse{URL: "https://idp.example.com/authorize?" + strings.Join([]string{
		req.Account, req.AuthID, req.State, req.Nonce, req.CodeChallenge, req.RedirectURI, req.LoginHint}, "&")}, nil
}

func (d *signOnDirectory) Exchange(_ context.Context, req sdk.ExchangeRequest) (sdk.Claims, error) {
	d.got = req
	switch req.Code {
	case "down":
		return sdk.Claims{}, errors.New("token endpoint unreachable")
	case "bad":
		return sdk.Claims{}, sdk.Permanent(errors.New("ID token refused: bad signature"))
	case "entra":
		return entraClaims, nil
	}
	return sdk.Claims{Subject: "sub-1", Issuer: "https://idp.example.com", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada", Extra: map[string]string{"tid": "t1"}}, nil
}

// entraClaims are an Entra ID sign-in whose profile the plugin read.
var entraClaims = sdk.Claims{Subject: "oid-1", Issuer: "https://login.microsoftonline.com/t1/v2.0", Email: "megan@contoso.example",
	EmailVerified: true, EmailProof: sdk.EmailProofVerifiedDomain, Name: "Megan", Extra: map[string]string{"tid": "t1"},
	Provider: sdk.ProviderEntra, ProfileRead: true, Position: "Marketing Manager", Phone: "+1 412 555 0109"}

func TestSignOnCrossesTheProcessBoundary(t *testing.T) {
	impl := &signOnDirectory{}
	idp, err := grpcclient.DispenseIdentity(connect(t, sdk.IdentityPlugins(impl)))
	if err != nil {
		t.Fatal(err)
	}
	so, ok := idp.(sdk.SignOn)
	if !ok {
		t.Fatalf("the host's identity client %T is not a SignOn", idp)
	}
	ctx := t.Context()

	resp, err := so.Authorize(ctx, sdk.AuthorizeRequest{Account: "a", AuthID: "b", State: "c", Nonce: "d", CodeChallenge: "e", RedirectURI: "f", LoginHint: "g"})
	if err != nil || resp.URL != "https://idp.example.com/authorize?a&b&c&d&e&f&g" {
		t.Errorf("authorize = %+v, %v", resp, err)
	}
	if _, err := so.Authorize(ctx, sdk.AuthorizeRequest{}); !errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("authorize without state: error = %v, want permanent", err)
	}

	req := sdk.ExchangeRequest{Code: "code", CodeVerifier: "verifier", Nonce: "nonce", RedirectURI: "https://app/cb"}
	c, err := so.Exchange(ctx, req)
	want := sdk.Claims{Subject: "sub-1", Issuer: "https://idp.example.com", Email: "ada@example.com", EmailVerified: true,
		Name: "Ada", Extra: map[string]string{"tid": "t1"}}
	if err != nil || !reflect.DeepEqual(c, want) || impl.got != req {
		t.Errorf("exchange = %+v, %v (plugin got %+v)", c, err, impl.got)
	}
	// The provider kind and the directory profile cross too; a plugin
	// that sets none of them (above: as one built before they existed)
	// reads as "profile not read".
	if c, err := so.Exchange(ctx, sdk.ExchangeRequest{Code: "entra"}); err != nil || !reflect.DeepEqual(c, entraClaims) {
		t.Errorf("exchange with a profile = %+v, %v, want %+v", c, err, entraClaims)
	}
	if _, err := so.Exchange(ctx, sdk.ExchangeRequest{Code: "bad"}); !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "bad signature") {
		t.Errorf("exchange of a bad token: error = %v, want the plugin's permanent error", err)
	}
	if _, err := so.Exchange(ctx, sdk.ExchangeRequest{Code: "down"}); err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Errorf("exchange during an outage: error = %v, want temporary", err)
	}
}

func TestSignOnNotOfferedIsPermanent(t *testing.T) {
	idp, err := grpcclient.DispenseIdentity(connect(t, sdk.IdentityPlugins(&directory{})))
	if err != nil {
		t.Fatal(err)
	}
	so := idp.(sdk.SignOn)
	_, err = so.Authorize(t.Context(), sdk.AuthorizeRequest{State: "s"})
	if !errors.Is(err, sdk.ErrPermanent) || errors.Is(err, sdk.ErrWrongKind) || !strings.Contains(err.Error(), `capability "oidc" not offered`) {
		t.Errorf("authorize: error = %v, want permanent, capability not offered", err)
	}
	_, err = so.Exchange(t.Context(), sdk.ExchangeRequest{Code: "c"})
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "does not implement Exchange") {
		t.Errorf("exchange: error = %v, want permanent, not implemented", err)
	}
}
