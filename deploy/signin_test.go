package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flexauth/flexauth/internal/mailsink"
)

// recorder keeps what the clients saw of the servers: every 5xx answer
// and every request that got no answer.
type recorder struct {
	mu       sync.Mutex
	fiveXX   []fiveXX
	refused  int // connection refused or reset: a replica that is down
	timeouts []string
	tooMany  int // 429: the per-IP limits of one test client
	// slowest is the longest a request waited for its answer.
	slowest     time.Duration
	slowestPath string
}

type fiveXX struct {
	at     time.Time
	api    int
	path   string
	status int
	json   bool
}

func (r *recorder) add(f func(*recorder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

// answer is an HTTP answer.
type answer struct {
	status int
	body   []byte
}

func (a answer) result() string {
	var out struct {
		Result string `json:"result"`
	}
	_ = json.Unmarshal(a.body, &out)
	return out.Result
}

// call sends a request to API replica *api and, while the replica is down
// (connection refused or reset) or answers 503 or 429, tries again, on the
// other replica when one is down, until deadline. Every 5xx, refusal and
// timeout is recorded.
func (n *native) call(rec *recorder, api *int, method, path string, header http.Header, body []byte, deadline time.Time) (answer, error) {
	for {
		i := *api % len(n.apis)
		target := path
		if strings.HasPrefix(path, "/") {
			target = n.apis[i].URL + path
		}
		req, err := http.NewRequest(method, target, bytes.NewReader(body))
		if err != nil {
			return answer{}, err
		}
		req.Header = header.Clone()
		sent := time.Now()
		res, err := httpClient.Do(req)
		took := time.Since(sent)
		rec.add(func(r *recorder) {
			if took > r.slowest {
				r.slowest, r.slowestPath = took, method+" "+strings.SplitN(path, "?", 2)[0]
			}
		})
		var a answer
		if err == nil {
			a.status = res.StatusCode
			a.body, err = io.ReadAll(res.Body)
			_ = res.Body.Close()
		}
		var nerr net.Error
		switch {
		case errors.As(err, &nerr) && nerr.Timeout():
			rec.add(func(r *recorder) { r.timeouts = append(r.timeouts, fmt.Sprintf("%s %s on api-%d", method, path, i+1)) })
			return answer{}, fmt.Errorf("%s %s: no answer: %w", method, path, err)
		case err != nil:
			// The replica is down: clients use the other one.
			rec.add(func(r *recorder) { r.refused++ })
			*api++
		case a.status >= 500:
			rec.add(func(r *recorder) {
				r.fiveXX = append(r.fiveXX, fiveXX{at: time.Now(), api: i, path: strings.SplitN(path, "?", 2)[0], status: a.status, json: json.Valid(a.body)})
			})
			if a.status != http.StatusServiceUnavailable {
				return a, nil
			}
		case a.status == http.StatusTooManyRequests:
			rec.add(func(r *recorder) { r.tooMany++ })
			if s, _ := strconv.Atoi(res.Header.Get("Retry-After")); s > 0 {
				time.Sleep(time.Duration(s) * time.Second)
			}
		default:
			return a, nil
		}
		if time.Now().After(deadline) {
			return a, fmt.Errorf("%s %s: still failing at the deadline (last %d, %w)", method, path, a.status, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// jsonCall is call with a JSON body and an API key.
func (n *native) jsonCall(rec *recorder, api *int, method, path, key string, body any, deadline time.Time) (answer, error) {
	h := http.Header{"Apikey": {key}}
	if body == nil {
		return n.call(rec, api, method, path, h, nil, deadline)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return answer{}, err
	}
	h.Set("Content-Type", "application/json")
	return n.call(rec, api, method, path, h, raw, deadline)
}

// outcome is what became of one sign-in.
type outcome struct {
	authid, method, attempt string
	// started is when start was sent; ended when the final state was
	// seen.
	started, ended time.Time
	// final is authenticated, security error or expired; empty: lost
	// (no final state by the deadline), or never started when attempt is
	// empty.
	final string
	// doubled: the link confirmed a second time.
	doubled bool
	err     error
}

// signIn is one whole sign-in of authid as an application and its user
// do it: start, the message, the link confirmed or the code entered, and
// checks until a final state, through replica api (the other one when it
// is down).
func (n *native) signIn(rec *recorder, authid, method string, api int, deadline time.Time) outcome {
	o := outcome{authid: authid, method: method, started: time.Now()}
	subject := map[string]any{"system": "shop", "authid": authid}
	a, err := n.jsonCall(rec, &api, http.MethodPost, "/v1/start", n.appKey, subject, time.Now())
	if err != nil || a.status != http.StatusOK {
		// Not started, as far as the application knows: it tries again
		// with another sign-in.
		o.err = fmt.Errorf("start: %d %s %w", a.status, a.body, err)
		return o
	}
	return n.signInStarted(rec, o, a, api, deadline)
}

// signInStarted carries o on, a sign-in whose start answered a.
func (n *native) signInStarted(rec *recorder, o outcome, a answer, api int, deadline time.Time) outcome {
	authid, method := o.authid, o.method
	subject := map[string]any{"system": "shop", "authid": authid}
	var started struct{ Attempt string }
	_ = json.Unmarshal(a.body, &started)
	o.attempt = started.Attempt
	subject["attempt"] = o.attempt

	email := authid + "@example.com"
	msg, ok := n.mail.wait(email, time.Until(deadline))
	if !ok {
		o.err = errors.New("no message")
		return o
	}
	finish := func(a answer) bool {
		switch r := a.result(); {
		case a.status == http.StatusOK && r == "authenticated", a.status == http.StatusForbidden && (r == "security error" || r == "expired"):
			o.final, o.ended = r, time.Now()
			return true
		}
		return false
	}
	var link string
	switch method {
	case "pin":
		code, ok := mailsink.PIN(msg.Text)
		if !ok {
			o.err = fmt.Errorf("no code in %q", msg.Text)
			return o
		}
		subject["pin"] = code
		a, err := n.jsonCall(rec, &api, http.MethodPost, "/v1/check", n.appKey, subject, deadline)
		if err != nil {
			o.err = err
			return o
		}
		delete(subject, "pin")
		if finish(a) {
			return o
		}
	default:
		path, ok := mailsink.LinkPath(msg.Text)
		if !ok {
			o.err = fmt.Errorf("no link in %q", msg.Text)
			return o
		}
		link = path
		a, err := n.confirm(rec, &api, link, deadline)
		if err != nil {
			o.err = err
			return o
		}
		if a.status != http.StatusOK && a.status != http.StatusGone {
			o.err = fmt.Errorf("confirm: %d", a.status)
			return o
		}
	}
	for time.Now().Before(deadline) {
		a, err := n.jsonCall(rec, &api, http.MethodPost, "/v1/check", n.appKey, subject, deadline)
		if err != nil {
			o.err = err
			return o
		}
		if finish(a) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if link != "" && o.final != "" {
		// A link signs in once.
		a, err := n.confirm(rec, &api, link, deadline.Add(30*time.Second))
		o.doubled = err == nil && a.status == http.StatusOK
	}
	return o
}

// confirm posts a link's confirmation form as the browser does from the
// link's page (same origin), to the replica the user's browser reaches.
func (n *native) confirm(rec *recorder, api *int, path string, deadline time.Time) (answer, error) {
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Sec-Fetch-Site": {"same-origin"}}
	return n.call(rec, api, http.MethodPost, path, h, nil, deadline)
}

// authenticatedEvents counts the attempt.authenticated events of attempt
// in the audit trail.
func (n *native) authenticatedEvents(rec *recorder, attempt string) (int, error) {
	api := 0
	a, err := n.jsonCall(rec, &api, http.MethodGet, "/v1/admin/audit?type=attempt.authenticated&attempt="+attempt, n.adminKey, nil, time.Now().Add(30*time.Second))
	if err != nil {
		return 0, err
	}
	if a.status != http.StatusOK {
		return 0, fmt.Errorf("audit: %d %s", a.status, a.body)
	}
	var out struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil {
		return 0, err
	}
	return len(out.Events), nil
}
