package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Name is the plugin's name, as reported by Info.
const Name = "webhook"

// version is reported by Info and in the User-Agent; bump it when the
// payload or the signature changes.
const version = "1.0.0"

// maxDrain bounds how much of an answer's body is read: enough to reuse
// the connection after a short answer, without reading a huge one.
const maxDrain = 64 << 10

// Webhook posts each message, signed, to the operator's URL. It is safe for
// concurrent use.
type Webhook struct {
	// now is the clock used for signing; tests replace it.
	now func() time.Time
	log *slog.Logger

	// mu guards the configuration, which Configure replaces as a whole.
	mu     sync.RWMutex
	cfg    *config
	client *http.Client
}

var _ sdk.Delivery = (*Webhook)(nil)

// New returns an unconfigured Webhook; Configure must be called before Send.
func New() *Webhook {
	return &Webhook{now: time.Now, log: sdk.Logger()}
}

// Info describes the webhook plugin. It forwards any channel; these are
// the ones flexauth sends.
func (w *Webhook) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: Name, Version: version, Channels: []string{"email", "sms"}}, nil
}

// Configure takes "url" (http or https), "secret" (at least 32 characters,
// shared with the receiver) and optionally "timeout" (a Go duration, 10s
// by default) for one POST.
func (w *Webhook) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	cfg, err := parseConfig(req.Config)
	if err != nil {
		return sdk.Permanent(fmt.Errorf("configure webhook: %w", err))
	}
	client := &http.Client{
		Transport: http.DefaultTransport.(*http.Transport).Clone(),
		// A redirect would resend the code or link to a URL the operator
		// never configured; the 3xx is refused instead (see classify).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}

	w.mu.Lock()
	old := w.client
	w.cfg, w.client = &cfg, client
	w.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections()
	}

	w.log.Info("webhook configured", "url", display(cfg.url), "timeout", cfg.timeout.String())
	if cleartext(cfg.url) {
		w.log.Warn("webhook url is plain http to another host: codes and links cross the network unencrypted", "url", display(cfg.url))
	}
	return nil
}

// payload is the JSON body of a call. Field names are part of the contract
// with every operator's receiver: add fields, never rename them.
type payload struct {
	ID       string            `json:"id"`
	Channel  string            `json:"channel"`
	To       string            `json:"to"`
	Subject  string            `json:"subject"`
	Text     string            `json:"text"`
	HTML     string            `json:"html"`
	Link     string            `json:"link"`
	Code     string            `json:"code"`
	Attempt  string            `json:"attempt"`
	Metadata map[string]string `json:"metadata"`
	// Timestamp equals HeaderTimestamp (Unix seconds), inside the signed
	// body for receivers that keep the body only.
	Timestamp int64 `json:"timestamp"`
}

// Send posts req to the configured URL. A 2xx answer is success; 408, 429,
// 5xx and network errors are temporary; anything else is permanent. A retry
// of an ID this process delivered never gets here: sdk.ServeDelivery
// answers it.
func (w *Webhook) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	if err := validate(req); err != nil {
		return sdk.SendResponse{}, sdk.Permanent(fmt.Errorf("send webhook: %w", err))
	}
	w.mu.RLock()
	cfg, client := w.cfg, w.client
	w.mu.RUnlock()
	if cfg == nil {
		return sdk.SendResponse{}, sdk.Permanent(errors.New("send webhook: not configured"))
	}

	if err := w.post(ctx, cfg, client, req); err != nil {
		// id, attempt and channel only: the body holds the code or link,
		// and the recipient is personal data.
		w.log.Warn("webhook not delivered", "id", req.ID, "attempt", req.Attempt, "channel", req.Channel,
			"permanent", errors.Is(err, sdk.ErrPermanent), "error", err.Error())
		return sdk.SendResponse{}, err
	}
	w.log.Debug("webhook delivered", "id", req.ID, "attempt", req.Attempt, "channel", req.Channel)
	return sdk.SendResponse{}, nil
}

// validate refuses requests that no receiver could handle, or that could
// not even be put into a header.
func validate(req sdk.SendRequest) error {
	switch {
	case req.ID == "":
		return errors.New("missing id")
	case strings.ContainsFunc(req.ID, isControl):
		return errors.New("id contains control characters")
	case req.Channel == "":
		return errors.New("missing channel")
	case strings.TrimSpace(req.To) == "":
		return errors.New("missing recipient")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// post makes one signed POST and classifies the outcome.
func (w *Webhook) post(ctx context.Context, cfg *config, client *http.Client, req sdk.SendRequest) error {
	now := w.now()
	timestamp := strconv.FormatInt(now.Unix(), 10)
	metadata := req.Metadata
	if metadata == nil {
		// {} rather than null: receivers index into it.
		metadata = map[string]string{}
	}
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	// Links carry '&'; keep them readable in receivers' logs. The
	// signature covers the exact bytes either way.
	enc.SetEscapeHTML(false)
	err := enc.Encode(payload{
		ID: req.ID, Channel: req.Channel, To: req.To, Subject: req.Subject,
		Text: req.Text, HTML: req.HTML, Link: req.Link, Code: req.Code,
		Attempt: req.Attempt, Metadata: metadata, Timestamp: now.Unix(),
	})
	if err != nil {
		return fmt.Errorf("encode webhook body: %w", err)
	}

	postCtx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(postCtx, http.MethodPost, cfg.url.String(), bytes.NewReader(body.Bytes()))
	if err != nil {
		return sdk.Permanent(fmt.Errorf("build webhook request: %w", err))
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("User-Agent", "flexauth-webhook/"+version)
	httpReq.Header.Set(HeaderDelivery, req.ID)
	httpReq.Header.Set(HeaderTimestamp, timestamp)
	httpReq.Header.Set(HeaderSignature, Sign(cfg.secret, timestamp, body.Bytes()))

	resp, err := client.Do(httpReq)
	if err != nil {
		return transportError(ctx, postCtx, cfg, err)
	}
	defer resp.Body.Close()
	// Drained so the connection can carry the next call. The body is
	// never logged or returned: a receiver might echo the message.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	return classify(cfg, resp.StatusCode)
}

// transportError explains a call that got no answer. All are temporary.
func transportError(ctx, postCtx context.Context, cfg *config, err error) error {
	where := display(cfg.url)
	switch {
	case ctx.Err() != nil:
		// The caller gave up; its context error crosses to the host as
		// such.
		return fmt.Errorf("post webhook to %s: %w", where, ctx.Err())
	case postCtx.Err() != nil:
		return fmt.Errorf("post webhook to %s: no answer within %v", where, cfg.timeout)
	}
	// url.Error repeats the full URL, query included; keep only the cause.
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		err = uerr.Err
	}
	return fmt.Errorf("post webhook to %s: %w", where, err)
}

// classify turns the receiver's status code into the plugin's answer.
func classify(cfg *config, code int) error {
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook %s answered %d %s", display(cfg.url), code, http.StatusText(code))
	case code >= 300 && code < 400:
		return sdk.Permanent(fmt.Errorf("webhook %s answered %d %s; redirects are not followed, configure the final URL", display(cfg.url), code, http.StatusText(code)))
	default:
		return sdk.Permanent(fmt.Errorf("webhook %s answered %d %s", display(cfg.url), code, http.StatusText(code)))
	}
}
