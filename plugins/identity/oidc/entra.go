package oidc

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/flexauth/flexauth/plugins/sdk"
)

// Microsoft Entra ID. Its ID tokens carry no email_verified: what Entra
// vouches for is the tenant (tid, which its v2.0 issuer names as well) and
// the tenant's verified domains, which a member's user principal name
// always ends with; the optional xms_edov claim says the email's domain
// owner is verified. The plugin checks the tenant and reports, in
// Claims.EmailProof, which of these vouches for the email, so that
// flexauth can bind a first sign-on on it.
//
// The subject is the user's object ID (oid), not sub: sub is pairwise, a
// different value per application registration, so registering flexauth
// again (a new client_id) would orphan every binding, and an administrator
// cannot look it up to approve a binding in advance; oid is the same for
// every application and is shown in the Entra admin center as the user's
// Object ID. oid is unique within its tenant, and the issuer names the
// tenant, so (issuer, oid) is (tid, oid).

var (
	tenantRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
	tenantIDRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
)

// entraConfig is a configured Entra ID tenant, before discovery.
type entraConfig struct {
	tenant    string // tenant ID or one of its domains, as configured
	authority string // e.g. https://login.microsoftonline.com, no trailing slash
	verified  []string
	graphURL  string // Microsoft Graph's endpoint; "" when the profile lookup is off
}

func parseEntra(tenant string, in settings) (entraConfig, error) {
	var errs []error
	if err := checkTenant(tenant); err != nil {
		errs = append(errs, err)
	}
	e := entraConfig{tenant: tenant, authority: entraAuthority}
	if a := strings.TrimRight(strings.TrimSpace(in.Authority), "/"); a != "" {
		if err := checkIssuer(keyAuthority, a); err != nil {
			errs = append(errs, err)
		} else if u, _ := url.Parse(a); u.Path != "" {
			errs = append(errs, fmt.Errorf("%s %q: give the host only (https://login.microsoftonline.us), not a path", keyAuthority, a))
		}
		e.authority = a
	}
	var err error
	if e.verified, err = parseDomains(keyVerifiedDomains, in.VerifiedDomains); err != nil {
		errs = append(errs, err)
	}
	if e.graphURL, err = parseGraphURL(in.GraphURL); err != nil {
		errs = append(errs, err)
	}
	return e, errors.Join(errs...)
}

// issuer is the tenant's v2.0 issuer as configured; for a tenant given by
// domain, Entra's discovery answers with the tenant ID in its place.
func (e entraConfig) issuer() string { return e.authority + "/" + e.tenant + "/v2.0" }

// checkTenant accepts a tenant ID or domain. The multi-tenant aliases are
// refused: their tokens' issuer is each user's own tenant, which a
// single-issuer verifier cannot accept, and flexauth binds identities of one
// tenant.
func checkTenant(tenant string) error {
	switch strings.ToLower(tenant) {
	case "common", "organizations", "consumers":
		return fmt.Errorf("%s %q: multi-tenant sign-in is not supported; give the tenant ID or domain", keyTenant, tenant)
	}
	if !tenantRE.MatchString(tenant) {
		return fmt.Errorf("%s %q is not a tenant ID or domain", keyTenant, tenant)
	}
	return nil
}

// tenantOf returns the tenant ID that iss, an issuer of this authority,
// names: <authority>/<tenant ID>/v2.0.
func (e entraConfig) tenantOf(iss string) (string, bool) {
	rest, ok := strings.CutPrefix(iss, e.authority+"/")
	if !ok {
		return "", false
	}
	tid, ok := strings.CutSuffix(rest, "/v2.0")
	if !ok || !tenantIDRE.MatchString(tid) {
		return "", false
	}
	return strings.ToLower(tid), true
}

// discovered finishes discovery (prov, err are NewProvider's for
// issuer) and learns the tenant ID. A tenant given by domain is
// discovered under its ID: Entra's document names the issuer
// <authority>/<tenant ID>/v2.0, which go-oidc reports as a mismatch; that
// issuer, and only one of that shape on the same authority, is accepted
// and becomes the one tokens are verified against.
func (e entraConfig) discovered(ctx context.Context, issuer string, prov *gooidc.Provider, err error) (*gooidc.Provider, *entraTenant, error) {
	var mismatch *gooidc.IssuerMismatchError
	if errors.As(err, &mismatch) && !tenantIDRE.MatchString(e.tenant) {
		tid, ok := e.tenantOf(mismatch.Discovered)
		if !ok {
			return nil, nil, err
		}
		if prov, err = gooidc.NewProvider(gooidc.InsecureIssuerURLContext(ctx, mismatch.Discovered), issuer); err != nil {
			return nil, nil, err
		}
		return prov, e.tenantWithID(tid), nil
	}
	if err != nil {
		return nil, nil, err
	}
	tid, ok := e.tenantOf(issuer)
	if !ok {
		return nil, nil, sdk.Permanent(fmt.Errorf("%s %q: the provider's issuer %s names no tenant ID (is %s an Entra ID authority?)", keyTenant, e.tenant, issuer, e.authority))
	}
	return prov, e.tenantWithID(tid), nil
}

func (e entraConfig) tenantWithID(tid string) *entraTenant {
	return &entraTenant{authority: e.authority, tenantID: tid, verified: e.verified, graphURL: e.graphURL}
}

// entraTenant is a discovered Entra ID tenant.
type entraTenant struct {
	authority string
	tenantID  string // lower case
	verified  []string
	graphURL  string // "" when the profile lookup is off
}

// vouch checks that a verified token is the tenant's and reads it as
// Entra's: the subject becomes oid (sub is kept in Extra["sub"]), and the
// email becomes the first of email, preferred_username and upn that Entra
// vouches for, with EmailVerified and EmailProof saying how; when none is
// vouched for, the email is the first of them that is an address, and
// EmailVerified is false. Errors are refusals of the token itself.
func (t *entraTenant) vouch(c sdk.Claims) (sdk.Claims, error) {
	tid := strings.ToLower(c.Extra["tid"])
	switch {
	case tid == "":
		return sdk.Claims{}, errors.New("ID token refused: no tid claim (not an Entra ID token)")
	case tid != t.tenantID:
		return sdk.Claims{}, fmt.Errorf("ID token refused: tenant %s is not the configured tenant %s", tid, t.tenantID)
	}
	// The verifier checked the issuer against the configured tenant's; the
	// tid claim must name the same tenant.
	if iss, ok := (entraConfig{authority: t.authority}).tenantOf(c.Issuer); !ok || iss != tid {
		return sdk.Claims{}, fmt.Errorf("ID token refused: its issuer %s does not name its tenant %s", c.Issuer, tid)
	}
	oid := c.Extra["oid"]
	if oid == "" {
		return sdk.Claims{}, errors.New("ID token refused: no oid claim (is the profile scope granted?)")
	}
	c.Extra["sub"], c.Subject = c.Subject, oid

	// A member signed in at this tenant; a guest (B2B, personal account)
	// at their own identity provider, whose addresses this tenant's
	// domains do not vouch for.
	idp := c.Extra["idp"]
	member := c.Extra["acct"] != "1" && (idp == "" || idp == c.Issuer || strings.EqualFold(idp, "https://sts.windows.net/"+tid+"/"))
	domainOwnerVerified := isTrue(c.Extra["xms_edov"])
	candidates := []struct {
		addr  string
		edov  bool // xms_edov speaks of the email claim only
		claim string
	}{
		{c.Email, domainOwnerVerified, "email"},
		{c.Extra["preferred_username"], false, "preferred_username"},
		{c.Extra["upn"], false, "upn"},
	}
	first := ""
	c.EmailVerified, c.EmailProof = false, ""
	for _, cand := range candidates {
		domain, ok := emailDomain(cand.addr)
		if !ok {
			continue
		}
		if first == "" {
			first = cand.addr
		}
		switch {
		case cand.edov:
			c.Email, c.EmailVerified, c.EmailProof = cand.addr, true, sdk.EmailProofDomainOwner
			return c, nil
		case member && slices.Contains(t.verified, domain):
			c.Email, c.EmailVerified, c.EmailProof = cand.addr, true, sdk.EmailProofVerifiedDomain
			return c, nil
		}
	}
	c.Email = first
	return c, nil
}

// emailDomain returns the lower-case domain of an email address.
func emailDomain(addr string) (string, bool) {
	local, domain, ok := strings.Cut(addr, "@")
	// A guest's user principal name (ada_fabrikam.com#EXT#@contoso.com) is
	// not an address.
	if !ok || local == "" || strings.Contains(strings.ToUpper(local), "#EXT#") ||
		!strings.Contains(domain, ".") || strings.ContainsAny(domain, "@ #") {
		return "", false
	}
	return strings.ToLower(domain), true
}

// isTrue reads a boolean claim as Extra holds it: JSON true, or the
// string "true" or "1" some tenants send.
func isTrue(v string) bool {
	return strings.EqualFold(v, "true") || v == "1"
}
