package grpcclient

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/proto"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// exitGrace bounds how long a failed call waits to learn whether the plugin
// process died. A broken connection is usually noticed a few milliseconds
// before go-plugin has reaped the process; without waiting, a crash would be
// reported as an anonymous transport error instead of sdk.ErrPluginExited.
const exitGrace = 2 * time.Second

// deliveryClient runs in the host and implements sdk.Delivery by calling
// the plugin process.
type deliveryClient struct {
	client proto.DeliveryClient
	caller
}

var _ sdk.Delivery = (*deliveryClient)(nil)

func (c *deliveryClient) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	return c.configure(ctx, func(ctx context.Context, req *proto.ConfigureRequest) error {
		_, err := c.client.Configure(ctx, req)
		return err
	}, req)
}

func (c *deliveryClient) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	var resp *proto.SendResponse
	err := c.call(ctx, "Send", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Send(ctx, &proto.SendRequest{
			Id:       req.ID,
			Channel:  req.Channel,
			To:       req.To,
			Subject:  req.Subject,
			Text:     req.Text,
			Html:     req.HTML,
			Link:     req.Link,
			Code:     req.Code,
			Attempt:  req.Attempt,
			Metadata: req.Metadata,
		})
		return err
	})
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("send: %w", err)
	}
	return sdk.SendResponse{MessageID: resp.GetMessageId()}, nil
}

func (c *deliveryClient) Info(ctx context.Context) (sdk.Info, error) {
	return c.info(ctx, func(ctx context.Context) (*proto.InfoResponse, error) {
		return c.client.Info(ctx, &proto.InfoRequest{})
	})
}

// identityClient runs in the host and implements sdk.IdentityProvider by
// calling the plugin process.
type identityClient struct {
	client proto.IdentityClient
	caller
}

var (
	_ sdk.IdentityProvider = (*identityClient)(nil)
	// The host's side always offers sdk.SignOn; whether the plugin does shows
	// on the first call (a permanent "does not implement" error).
	_ sdk.SignOn = (*identityClient)(nil)
)

func (c *identityClient) Configure(ctx context.Context, req sdk.ConfigureRequest) error {
	return c.configure(ctx, func(ctx context.Context, req *proto.ConfigureRequest) error {
		_, err := c.client.Configure(ctx, req)
		return err
	}, req)
}

func (c *identityClient) Info(ctx context.Context) (sdk.Info, error) {
	return c.info(ctx, func(ctx context.Context) (*proto.InfoResponse, error) {
		return c.client.Info(ctx, &proto.InfoRequest{})
	})
}

func (c *identityClient) Lookup(ctx context.Context, req sdk.LookupRequest) (sdk.Identity, error) {
	var resp *proto.LookupResponse
	err := c.call(ctx, "Lookup", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Lookup(ctx, &proto.LookupRequest{Account: req.Account, Authid: req.AuthID})
		return err
	})
	if err != nil {
		return sdk.Identity{}, fmt.Errorf("lookup: %w", err)
	}
	if !resp.GetFound() {
		// Whatever else a plugin sent about a user it does not know must
		// not reach the policy.
		return sdk.Identity{}, nil
	}
	return sdk.Identity{
		Found:      true,
		Name:       resp.GetName(),
		Email:      resp.GetEmail(),
		Phone:      resp.GetPhone(),
		Groups:     resp.GetGroups(),
		Attributes: resp.GetAttributes(),
	}, nil
}

func (c *identityClient) Authorize(ctx context.Context, req sdk.AuthorizeRequest) (sdk.AuthorizeResponse, error) {
	var resp *proto.AuthorizeResponse
	err := c.call(ctx, "Authorize", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Authorize(ctx, &proto.AuthorizeRequest{
			Account:       req.Account,
			Authid:        req.AuthID,
			State:         req.State,
			Nonce:         req.Nonce,
			CodeChallenge: req.CodeChallenge,
			RedirectUri:   req.RedirectURI,
			LoginHint:     req.LoginHint,
		})
		return err
	})
	if err != nil {
		return sdk.AuthorizeResponse{}, fmt.Errorf("authorize: %w", err)
	}
	return sdk.AuthorizeResponse{URL: resp.GetUrl()}, nil
}

func (c *identityClient) Exchange(ctx context.Context, req sdk.ExchangeRequest) (sdk.Claims, error) {
	var resp *proto.ExchangeResponse
	err := c.call(ctx, "Exchange", func(ctx context.Context) error {
		var err error
		resp, err = c.client.Exchange(ctx, &proto.ExchangeRequest{
			Code:         req.Code,
			CodeVerifier: req.CodeVerifier,
			Nonce:        req.Nonce,
			RedirectUri:  req.RedirectURI,
		})
		return err
	})
	if err != nil {
		return sdk.Claims{}, fmt.Errorf("exchange: %w", err)
	}
	return sdk.Claims{
		Subject:       resp.GetSubject(),
		Issuer:        resp.GetIssuer(),
		Email:         resp.GetEmail(),
		EmailVerified: resp.GetEmailVerified(),
		EmailProof:    resp.GetEmailProof(),
		Name:          resp.GetName(),
		Extra:         resp.GetClaims(),
		// A plugin that predates these fields sends none of them:
		// ProfileRead is then false and the host keeps what it knew.
		Provider:    resp.GetProvider(),
		ProfileRead: resp.GetProfileRead(),
		Position:    resp.GetPosition(),
		Phone:       resp.GetPhone(),
	}, nil
}

// caller holds what every kind's client shares: its kind, and the
// translation of a call's error into the SDK's error contract.
type caller struct {
	kind string
	// doneCtx is cancelled by go-plugin when the plugin process exits.
	doneCtx context.Context
}

func (c caller) configure(ctx context.Context, rpc func(context.Context, *proto.ConfigureRequest) error, req sdk.ConfigureRequest) error {
	err := c.call(ctx, "Configure", func(ctx context.Context) error {
		return rpc(ctx, &proto.ConfigureRequest{Config: req.Config})
	})
	if err != nil {
		return fmt.Errorf("configure: %w", err)
	}
	return nil
}

func (c caller) info(ctx context.Context, rpc func(context.Context) (*proto.InfoResponse, error)) (sdk.Info, error) {
	var resp *proto.InfoResponse
	err := c.call(ctx, "Info", func(ctx context.Context) error {
		var err error
		resp, err = rpc(ctx)
		return err
	})
	if err != nil {
		return sdk.Info{}, fmt.Errorf("info: %w", err)
	}
	return sdk.Info{
		Name:         resp.GetName(),
		Version:      resp.GetVersion(),
		Channels:     resp.GetChannels(),
		Capabilities: resp.GetCapabilities(),
		// The service that answered is the kind; a plugin cannot claim
		// another.
		Kind: c.kind,
	}, nil
}

// call runs one RPC (method names it, for errors) and translates its error
// into the SDK's error contract: sdk.ErrPermanent (with sdk.ErrRefused), sdk.ErrWrongKind,
// sdk.ErrPluginExited, the caller's context error, or a temporary error.
func (c caller) call(ctx context.Context, method string, rpc func(context.Context) error) error {
	if c.doneCtx.Err() != nil {
		return sdk.ErrPluginExited
	}
	// Abort the call as soon as the process is gone rather than waiting
	// for the caller's deadline.
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.doneCtx, cancel)
	defer stop()

	err := rpc(callCtx)
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	switch {
	case isPermanentCode(st.Code()) && refusedStatus(st):
		return fmt.Errorf("%w: %w: %s", sdk.ErrPermanent, sdk.ErrRefused, st.Message())
	case isPermanentCode(st.Code()):
		return fmt.Errorf("%w: %s", sdk.ErrPermanent, st.Message())
	case st.Code() == codes.Unimplemented && !fromPlugin(st):
		return c.unimplemented(method, st)
	case ctx.Err() != nil:
		return ctx.Err()
	case st.Code() == codes.DeadlineExceeded && pastDeadline(ctx):
		// gRPC's own timer can fire a moment before the context's.
		return context.DeadlineExceeded
	case fromPlugin(st):
		return errors.New(st.Message())
	case c.exited(ctx):
		return sdk.ErrPluginExited
	default:
		return fmt.Errorf("call plugin: %w", err)
	}
}

// pastDeadline reports whether ctx has a deadline that has passed.
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return ok && !time.Now().Before(d)
}

// unimplemented explains an UNIMPLEMENTED answer from the gRPC server (not
// from the plugin's code). Info and Configure are in every kind's service,
// so the server lacking one of them means the process serves another kind;
// any other method is one this plugin was built without. Neither heals by
// retrying.
func (c caller) unimplemented(method string, st *status.Status) error {
	if method == "Info" || method == "Configure" {
		return fmt.Errorf("%w: %w: the plugin does not serve the %s protocol (%s)", sdk.ErrWrongKind, sdk.ErrPermanent, c.kind, st.Message())
	}
	return fmt.Errorf("%w: the plugin does not implement %s (%s)", sdk.ErrPermanent, method, st.Message())
}

// exited waits up to exitGrace for the plugin process to be reported gone.
func (c caller) exited(ctx context.Context) bool {
	t := time.NewTimer(exitGrace)
	defer t.Stop()
	select {
	case <-c.doneCtx.Done():
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return c.doneCtx.Err() != nil
}

// isPermanentCode reports whether a status code means "do not retry".
// FailedPrecondition is accepted too, for plugins in other languages that
// report a missing configuration that way.
func isPermanentCode(c codes.Code) bool {
	return c == codes.InvalidArgument || c == codes.FailedPrecondition
}

// refusedStatus reports whether st is a Refused error from the plugin.
func refusedStatus(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == wire.ErrorDomain && info.GetReason() == wire.ReasonRefused {
			return true
		}
	}
	return false
}

// fromPlugin reports whether st was produced by the plugin's code (see
// wire.ErrorDomain) rather than by the gRPC transport.
func fromPlugin(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == wire.ErrorDomain {
			return true
		}
	}
	return false
}
