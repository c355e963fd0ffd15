// Package dashboard is the live dashboard of a sluice process: one page and
// its assets, embedded in the binary, that poll /api/v1/pipelines every two
// seconds and draw every pipeline's stage graph, rates, watermarks, latest
// window results, checkpoints and errors (docs/observability.md). The page
// loads nothing from outside the process: it works offline.
package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// contentSecurityPolicy lets the page load only its own assets and call only
// its own origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// asset is one embedded file ready to serve.
type asset struct {
	contentType string
	etag        string
	body        []byte
}

// Handler returns the handler of the dashboard: the page at "/" (and
// "/index.html") and its files under "/assets/". The page addresses the
// API relatively ("api/v1/pipelines"), so the handler may be mounted below
// a prefix with http.StripPrefix as long as the API is mounted beside it.
// Other paths answer 404, methods other than GET and HEAD 405.
func Handler() http.Handler {
	files := map[string]asset{}
	err := fs.WalkDir(assets, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files["/"+name] = asset{
			contentType: contentType(name),
			etag:        `"` + hex.EncodeToString(sum[:8]) + `"`,
			body:        body,
		}
		return nil
	})
	if err != nil {
		panic("dashboard: reading the embedded assets: " + err.Error()) // the embed is compiled in
	}
	files["/"] = files["/assets/index.html"]
	files["/index.html"] = files["/assets/index.html"]
	delete(files, "/assets/index.html")
	return &handler{files: files}
}

type handler struct {
	files map[string]asset
}

// ServeHTTP serves one embedded file; browsers revalidate it with its ETag
// on every load, so a new binary's page is never mixed with an old script.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := h.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("ETag", a.etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("Referrer-Policy", "no-referrer")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// contentType is the media type of an asset, by its extension.
func contentType(name string) string {
	ext := path.Ext(name)
	switch ext {
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		if strings.HasPrefix(t, "text/") && !strings.Contains(t, "charset") {
			t += "; charset=utf-8"
		}
		return t
	}
	return "application/octet-stream"
}
