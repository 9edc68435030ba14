package grpcclient

import (
	"context"
	"errors"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flexauth/flexauth/plugins/internal/wire"
	"github.com/flexauth/flexauth/plugins/sdk"
)

// pluginStatus is a status as a plugin's code sends it (see sdk's
// toStatus, or any plugin speaking the protocol).
func pluginStatus(t *testing.T, code codes.Code, reason, msg string) error {
	t.Helper()
	st, err := status.New(code, msg).WithDetails(&errdetails.ErrorInfo{Domain: wire.ErrorDomain, Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestTransportErrorIsNotMarkedAsPlugin(t *testing.T) {
	if fromPlugin(status.New(codes.Unavailable, "error reading from server: EOF")) {
		t.Fatal("a bare transport status was taken for a plugin error")
	}
	if !fromPlugin(status.Convert(pluginStatus(t, codes.Unavailable, wire.ReasonTemporary, "smtp 421"))) {
		t.Fatal("a plugin's status was not recognised")
	}
}

func TestHostClassifiesThePluginsErrors(t *testing.T) {
	c := caller{kind: sdk.KindIdentity, doneCtx: context.Background()}
	call := func(rpcErr error) error {
		return c.call(context.Background(), "Exchange", func(context.Context) error { return rpcErr })
	}
	tests := []struct {
		name                 string
		err                  error
		permanent, refused   bool
		wantMessageContained string
	}{
		{"a refusal is permanent and refused", pluginStatus(t, codes.InvalidArgument, wire.ReasonRefused, "email domain not allowed"), true, true, "email domain not allowed"},
		{"a permanent error is not refused", pluginStatus(t, codes.InvalidArgument, wire.ReasonPermanent, "bad signature"), true, false, "bad signature"},
		{"failed precondition from another language is permanent", status.Error(codes.FailedPrecondition, "not configured"), true, false, "not configured"},
		{"a temporary error is neither", pluginStatus(t, codes.Unavailable, wire.ReasonTemporary, "token endpoint unreachable"), false, false, "token endpoint unreachable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := call(tt.err)
			if errors.Is(got, sdk.ErrPermanent) != tt.permanent || errors.Is(got, sdk.ErrRefused) != tt.refused {
				t.Fatalf("error = %v: permanent %v, refused %v; want %v, %v", got,
					errors.Is(got, sdk.ErrPermanent), errors.Is(got, sdk.ErrRefused), tt.permanent, tt.refused)
			}
			if got == nil || !strings.Contains(got.Error(), tt.wantMessageContained) {
				t.Errorf("error %v does not carry the plugin's message %q", got, tt.wantMessageContained)
			}
		})
	}
}
