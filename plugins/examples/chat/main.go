// Command flexauth-chat is the example delivery plugin of the guide
// docs/write-a-delivery-plugin.md: it posts sign-in messages to a chat
// channel's incoming webhook ({"text": "..."}, as Slack and Mattermost take).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Chat delivers to one incoming-webhook URL. A retry of a message it
// posted never reaches Send: sdk.ServeDelivery answers it.
type Chat struct {
	mu  sync.Mutex
	url string
}

func (c *Chat) Info(context.Context) (sdk.Info, error) {
	return sdk.Info{Name: "chat", Version: "1.0.0", Channels: []string{"email"}}, nil
}

func (c *Chat) Configure(_ context.Context, req sdk.ConfigureRequest) error {
	var config struct {
		URL string `config:"url"`
	}
	if err := req.Decode(&config); err != nil { // refuses unknown keys
		return err
	}
	if config.URL == "" {
		return sdk.Permanent(errors.New(`missing "url"`))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.url = config.URL
	return nil
}

func (c *Chat) Send(ctx context.Context, req sdk.SendRequest) (sdk.SendResponse, error) {
	if req.To == "" || req.Text == "" {
		return sdk.SendResponse{}, sdk.Permanent(errors.New("recipient and text are required"))
	}
	c.mu.Lock()
	url := c.url
	c.mu.Unlock()
	body, err := json.Marshal(map[string]string{"text": "@" + req.To + " " + req.Text})
	if err != nil {
		return sdk.SendResponse{}, sdk.Permanent(err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return sdk.SendResponse{}, sdk.Permanent(err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Idempotency-Key", req.ID)
	res, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		return sdk.SendResponse{}, fmt.Errorf("post to chat: %w", err) // temporary: retried
	}
	res.Body.Close()
	switch {
	case res.StatusCode >= 500 || res.StatusCode == http.StatusTooManyRequests:
		return sdk.SendResponse{}, fmt.Errorf("chat answered %d", res.StatusCode)
	case res.StatusCode >= 300:
		return sdk.SendResponse{}, sdk.Permanent(fmt.Errorf("chat refused the message: %d", res.StatusCode))
	}
	sdk.Logger().Info("posted to chat", "attempt", req.Attempt)
	return sdk.SendResponse{MessageID: req.ID}, nil
}

func main() {
	sdk.ServeDelivery(&Chat{})
}
