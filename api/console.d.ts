// Types for the console's JavaScript (console/assets/*.js), checked by tsc
// with the repository's jsconfig.json; nothing here is served or emitted.
// This file sits beside console/, not in it, so that //go:embed console
// leaves it out of the binary.
//
// The shell elements of console/index.html, by id: the page always has
// them (the modules load from that page), so getElementById on these ids
// returns the element, typed, rather than "HTMLElement | null". Keep the
// list in step with index.html when an id is added, renamed or removed.
interface Document {
  getElementById(elementId: 'skip-link' | 'my-security'): HTMLAnchorElement;
  getElementById(elementId: 'nav-toggle' | 'sign-out' | 'confirm-cancel' | 'confirm-ok' | 'reauth-cancel'): HTMLButtonElement;
  getElementById(elementId: 'org-switcher'): HTMLSelectElement;
  getElementById(elementId: 'confirm-dialog' | 'reauth-dialog'): HTMLDialogElement;
  getElementById(
    elementId: 'nav' | 'who' | 'who-name' | 'org-switch' | 'status' | 'error' | 'main' | 'confirm-title' | 'confirm-text' | 'reauth-body',
  ): HTMLElement;
}
