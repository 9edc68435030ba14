package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Microsoft Graph: at an Entra ID sign-in the plugin reads the user's
// position (job title) and phone from GET /v1.0/me with the access token
// the sign-in was granted (delegated permission User.Read, which the
// default scopes ask for), so that administrators see them. The profile is
// a courtesy: Graph failing, slow or refusing never fails the sign-in; the
// plugin logs why (never the token) and reports the profile as not read.

// defaultGraphURL is Microsoft Graph's global endpoint; national clouds
// have their own (graph_url).
const defaultGraphURL = "https://graph.microsoft.com"

// graphOff, as graph_url, turns the profile lookup off.
const graphOff = "off"

// graphTimeout bounds the Graph call: a slow directory delays a sign-in by
// this much at most.
const graphTimeout = 5 * time.Second

// graphMargin is left of the caller's deadline after the Graph call, so
// that a slow Graph never makes the sign-in itself miss its deadline (the
// code is spent by then: a retry could not redeem it). With less than
// minGraphBudget to spend, Graph is not asked.
const (
	graphMargin    = 2 * time.Second
	minGraphBudget = 500 * time.Millisecond
)

// graphScope is the delegated permission /me needs.
const graphScope = "User.Read"

// maxGraphBody bounds what is read of Graph's answer; /me with three
// properties is a few hundred bytes.
const maxGraphBody = 64 << 10

// maxProfileValue bounds a profile value kept (Graph allows 128
// characters for a job title, 64 for a phone).
const maxProfileValue = 256

// graphSelect is the $select of the /me request.
const graphSelect = "jobTitle,mobilePhone,businessPhones"

// parseGraphURL reads graph_url: "" is Graph's global endpoint, "off"
// turns the lookup off (""), anything else must be an https URL (or http on
// loopback) naming a host only.
func parseGraphURL(raw string) (string, error) {
	raw = strings.TrimRight(strings.TrimSpace(raw), "/")
	switch {
	case raw == "":
		return defaultGraphURL, nil
	case strings.EqualFold(raw, graphOff):
		return "", nil
	}
	if err := checkIssuer(keyGraphURL, raw); err != nil {
		return "", err
	}
	if u, _ := url.Parse(raw); u.Path != "" {
		return "", fmt.Errorf("%s %q: give the host only (https://graph.microsoft.us), not a path", keyGraphURL, raw)
	}
	return raw, nil
}

// graphMe is the part of Graph's user resource the plugin reads. Graph
// writes null for a property the user does not have.
type graphMe struct {
	JobTitle       *string  `json:"jobTitle"`
	MobilePhone    *string  `json:"mobilePhone"`
	BusinessPhones []string `json:"businessPhones"`
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// withGraphProfile fills in c's position and phone from Graph, with the
// sign-in's access token. Any failure is logged and leaves c as it was
// (ProfileRead false).
func (p *Plugin) withGraphProfile(ctx context.Context, graphURL, accessToken string, c sdk.Claims) sdk.Claims {
	if accessToken == "" {
		p.logger.Warn("oidc profile not read: the token response has no access token", "issuer", c.Issuer, "subject", c.Subject)
		return c
	}
	budget := graphTimeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline)-graphMargin)
	}
	if budget < minGraphBudget {
		p.logger.Warn("oidc profile not read from Microsoft Graph: too little time left before the sign-in's deadline",
			"issuer", c.Issuer, "subject", c.Subject)
		return c
	}
	me, err := p.graphMe(ctx, graphURL, accessToken, budget)
	if err != nil {
		p.logger.Warn("oidc profile not read from Microsoft Graph; the sign-in goes on without it",
			"issuer", c.Issuer, "subject", c.Subject, "graph", graphURL, "error", err)
		return c
	}
	c.ProfileRead = true
	c.Position = profileValue(me.JobTitle)
	c.Phone = profileValue(me.MobilePhone)
	for _, b := range me.BusinessPhones {
		if c.Phone != "" {
			break
		}
		c.Phone = profileValue(&b)
	}
	return c
}

// graphMe asks Graph for the signed-in user's profile. Errors never hold
// the token: the request URL carries none, and Graph's error is quoted by
// its code and message only.
func (p *Plugin) graphMe(ctx context.Context, graphURL, accessToken string, budget time.Duration) (graphMe, error) {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	target := graphURL + "/v1.0/me?" + url.Values{"$select": {graphSelect}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return graphMe{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is graphURL's, known; keep the cause
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return graphMe{}, fmt.Errorf("GET /v1.0/me: no answer within %s", budget.Round(time.Millisecond))
		}
		return graphMe{}, fmt.Errorf("GET /v1.0/me: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphBody))
	if err != nil {
		return graphMe{}, fmt.Errorf("GET /v1.0/me: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var ge graphError
		_ = json.Unmarshal(body, &ge)
		why := strings.TrimSpace(ge.Error.Code + ": " + ge.Error.Message)
		if ge.Error.Code == "" {
			why = "no Graph error code"
		}
		hint := ""
		if resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
			hint = fmt.Sprintf(" (is the delegated permission %s granted, and in scopes?)", graphScope)
		}
		return graphMe{}, fmt.Errorf("GET /v1.0/me: HTTP %d, %s%s", resp.StatusCode, truncate(why, 300), hint)
	}
	var me graphMe
	if err := json.Unmarshal(body, &me); err != nil {
		return graphMe{}, fmt.Errorf("GET /v1.0/me: answer is not a Graph user: %w", err)
	}
	return me, nil
}

// profileValue is a profile property as kept: trimmed, control characters
// dropped, at most maxProfileValue characters; "" for null.
func profileValue(v *string) string {
	if v == nil {
		return ""
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, *v)
	return truncate(strings.TrimSpace(s), maxProfileValue)
}

// truncate cuts s to at most n characters.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
