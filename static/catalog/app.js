/* Progressive enhancements: keyboard shortcuts. Loaded with defer; no inline script (CSP). */
