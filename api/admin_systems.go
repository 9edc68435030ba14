package api

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/flexauth/flexauth/attempt"
	"github.com/flexauth/flexauth/store"
	"github.com/flexauth/flexauth/userio"
)

// Admin API: systems.

// System limits and defaults.
const (
	maxSystemNameLength = 100
	defaultSensitivity  = "medium"
	defaultTTLSeconds   = 300
	minTTLSeconds       = 30
	maxTTLSeconds       = 3600
)

// knownMethods are the verification methods in the order the API lists
// them.
func knownMethods() []string {
	return attempt.Methods()
}

type systemJSON struct {
	Name        string   `json:"name"`
	Methods     []string `json:"methods"`
	Sensitivity string   `json:"sensitivity"`
	TTLSeconds  int      `json:"ttl_seconds"`
	// ReturnURL is where the hosted sign-in pages send the user when done.
	ReturnURL string    `json:"return_url"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Effective is what the active policy makes of these settings (read
	// only; see admin_effective.go).
	Effective *effectiveJSON `json:"effective"`
}

func toSystemJSON(sys store.System) systemJSON {
	methods := sys.Methods
	if methods == nil {
		methods = []string{}
	}
	return systemJSON{
		Name: sys.Name, Methods: methods, Sensitivity: sys.Sensitivity, TTLSeconds: sys.TTLSeconds,
		ReturnURL: sys.ReturnURL, CreatedAt: sys.CreatedAt, UpdatedAt: sys.UpdatedAt,
	}
}

type createSystemRequest struct {
	Name        string   `json:"name"`
	Methods     []string `json:"methods"`
	Sensitivity string   `json:"sensitivity"`
	TTLSeconds  *int     `json:"ttl_seconds"`
	ReturnURL   string   `json:"return_url"`
}

// updateSystemRequest is a partial update: absent fields stay as they are.
type updateSystemRequest struct {
	Methods     *[]string `json:"methods"`
	Sensitivity *string   `json:"sensitivity"`
	TTLSeconds  *int      `json:"ttl_seconds"`
	ReturnURL   *string   `json:"return_url"`
}

func (s *Server) createSystem(c *gin.Context) {
	var req createSystemRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	if req.Sensitivity == "" {
		req.Sensitivity = defaultSensitivity
	}
	ttl := defaultTTLSeconds
	if req.TTLSeconds != nil {
		ttl = *req.TTLSeconds
	}
	rerr := firstError(validSystemName(req.Name), validMethods(req.Methods), validSensitivity(req.Sensitivity), validTTL(ttl), validReturnURL(req.ReturnURL))
	if rerr != nil {
		respondError(c, rerr)
		return
	}
	now := s.now().UTC()
	sys := store.System{
		ID: uuid.NewString(), AccountID: caller(c).AccountID, Name: req.Name, Methods: req.Methods,
		Sensitivity: req.Sensitivity, TTLSeconds: ttl, ReturnURL: req.ReturnURL, CreatedAt: now, UpdatedAt: now,
	}
	err := s.store.CreateSystem(c.Request.Context(), &sys, s.auditEvent(c, "system.created", sys.Name, "", map[string]any{
		"methods": sys.Methods, "sensitivity": sys.Sensitivity, "ttl_seconds": sys.TTLSeconds, "return_url": sys.ReturnURL,
	}))
	if errors.Is(err, store.ErrConflict) {
		failf(c, http.StatusConflict, "system %q already exists", req.Name)
		return
	}
	if err != nil {
		s.internalError(c, "create system", err)
		return
	}
	c.JSON(http.StatusCreated, s.systemsJSON(c, sys)[0])
}

func (s *Server) listSystems(c *gin.Context) {
	systems, err := s.store.ListSystems(c.Request.Context(), caller(c).AccountID)
	if err != nil {
		s.internalError(c, "list systems", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"systems": s.systemsJSON(c, systems...)})
}

// loadSystem loads the :name system or answers 404.
func (s *Server) loadSystem(c *gin.Context) (store.System, bool) {
	name := c.Param("name")
	sys, err := s.store.GetSystem(c.Request.Context(), caller(c).AccountID, name)
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "system %q not found", name)
		return store.System{}, false
	}
	if err != nil {
		s.internalError(c, "load system", err)
		return store.System{}, false
	}
	return sys, true
}

func (s *Server) getSystem(c *gin.Context) {
	if sys, ok := s.loadSystem(c); ok {
		c.JSON(http.StatusOK, s.systemsJSON(c, sys)[0])
	}
}

func (s *Server) updateSystem(c *gin.Context) {
	// The console system's methods and sensitivity decide how every
	// administrator signs in: a stale session must not weaken them.
	if c.Param("name") == consoleSystem && !s.fresh(c) {
		return
	}
	var req updateSystemRequest
	if rerr := decodeJSON(c, &req, true); rerr != nil {
		respondError(c, rerr)
		return
	}
	sys, ok := s.loadSystem(c)
	if !ok {
		return
	}
	changes := map[string]any{}
	var rerrs []*requestError
	if req.Methods != nil {
		rerrs = append(rerrs, validMethods(*req.Methods))
		sys.Methods = *req.Methods
		changes["methods"] = sys.Methods
	}
	if req.Sensitivity != nil {
		rerrs = append(rerrs, validSensitivity(*req.Sensitivity))
		sys.Sensitivity = *req.Sensitivity
		changes["sensitivity"] = sys.Sensitivity
	}
	if req.TTLSeconds != nil {
		rerrs = append(rerrs, validTTL(*req.TTLSeconds))
		sys.TTLSeconds = *req.TTLSeconds
		changes["ttl_seconds"] = sys.TTLSeconds
	}
	if req.ReturnURL != nil {
		rerrs = append(rerrs, validReturnURL(*req.ReturnURL))
		sys.ReturnURL = *req.ReturnURL
		changes["return_url"] = sys.ReturnURL
	}
	if rerr := firstError(rerrs...); rerr != nil {
		respondError(c, rerr)
		return
	}
	ctx := c.Request.Context()
	if req.Methods != nil {
		// Dropping a method that users are assigned would strand them: every
		// start of theirs would be denied. The admin reassigns them first.
		n, err := s.store.AssignmentsUsingOtherMethods(ctx, sys.ID, sys.Methods)
		if err != nil {
			s.internalError(c, "count assignments", err)
			return
		}
		if n > 0 {
			failf(c, http.StatusConflict, "%d %s assigned a method this change removes from system %q; reassign them first",
				n, plural(n, "user is", "users are"), sys.Name)
			return
		}
	}
	sys.UpdatedAt = s.now().UTC()
	err := s.store.UpdateSystem(ctx, &sys, s.auditEvent(c, "system.updated", sys.Name, "", changes))
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "system %q not found", sys.Name)
		return
	}
	if err != nil {
		s.internalError(c, "update system", err)
		return
	}
	c.JSON(http.StatusOK, s.systemsJSON(c, sys)[0])
}

func (s *Server) deleteSystem(c *gin.Context) {
	name := c.Param("name")
	if name == consoleSystem {
		// Its assignments are who administers the account in the console;
		// deleting it would sign every administrator out for good.
		failf(c, http.StatusConflict, "system %q is the account's console sign-in and cannot be deleted; unassign users instead", name)
		return
	}
	err := s.store.DeleteSystem(c.Request.Context(), caller(c).AccountID, name, s.auditEvent(c, "system.deleted", name, "", nil))
	if errors.Is(err, store.ErrNotFound) {
		failf(c, http.StatusNotFound, "system %q not found", name)
		return
	}
	if err != nil {
		s.internalError(c, "delete system", err)
		return
	}
	c.Status(http.StatusNoContent)
}

// maxReturnURLLength bounds a system's return URL.
const maxReturnURLLength = 2048

// validReturnURL accepts "" (none) or an absolute http(s) URL without
// credentials: the pages link to it, and a javascript: or data: URL there
// would run in flexauth's origin.
func validReturnURL(raw string) *requestError {
	if raw == "" {
		return nil
	}
	if len(raw) > maxReturnURLLength {
		return badRequest("return_url must be at most %d characters", maxReturnURLLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Opaque != "":
		return badRequest("return_url must be an absolute http or https URL, such as https://app.example.com/signed-in")
	case u.User != nil:
		return badRequest("return_url must not carry a user name or password")
	}
	if rerr := checked(userio.CheckText("return_url", raw)); rerr != nil {
		return rerr
	}
	return nil
}

func validSystemName(name string) *requestError {
	if name == "" {
		return badRequest("name is required")
	}
	if len(name) > maxSystemNameLength {
		return badRequest("name must be at most %d characters", maxSystemNameLength)
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-') {
			return badRequest("name %q may hold only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

func validMethods(methods []string) *requestError {
	if len(methods) == 0 {
		return badRequest("methods must name at least one of %s", strings.Join(knownMethods(), ", "))
	}
	for i, m := range methods {
		if !slices.Contains(knownMethods(), m) {
			return badRequest("unknown method %q; want one of %s", m, strings.Join(knownMethods(), ", "))
		}
		if slices.Contains(methods[:i], m) {
			return badRequest("method %q is listed twice", m)
		}
	}
	return nil
}

func validSensitivity(s string) *requestError {
	switch s {
	case "low", "medium", "high":
		return nil
	}
	return badRequest("sensitivity %q is not one of low, medium, high", s)
}

func validTTL(ttl int) *requestError {
	if ttl < minTTLSeconds || ttl > maxTTLSeconds {
		return badRequest("ttl_seconds must be between %d and %d", minTTLSeconds, maxTTLSeconds)
	}
	return nil
}

// firstError returns the first non-nil error.
func firstError(errs ...*requestError) *requestError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
