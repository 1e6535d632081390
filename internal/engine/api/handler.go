package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// MaxBody bounds a request body (a function's code travels inline).
const MaxBody = 64 << 20

// Handler serves the API over a Backend.
type Handler struct {
	b      Backend
	logger *slog.Logger
	mux    *http.ServeMux
}

// NewHandler returns the API handler; logger may be nil.
func NewHandler(b Backend, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{b: b, logger: logger, mux: http.NewServeMux()}
	// The handler table.
	for pattern, fn := range map[string]func(*Handler, http.ResponseWriter, *http.Request) error{
		"GET /v1/status":                     (*Handler).serveStatus,
		"GET /v1/functions":                  (*Handler).serveList,
		"POST /v1/functions":                 (*Handler).serveDeploy,
		"GET /v1/functions/{ns}/{name}":      (*Handler).serveGet,
		"PUT /v1/functions/{ns}/{name}":      (*Handler).serveUpdate,
		"DELETE /v1/functions/{ns}/{name}":   (*Handler).serveDelete,
		"GET /v1/functions/{ns}/{name}/logs": (*Handler).serveLogs,
	} {
		h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(h, w, r); err != nil {
				writeError(w, err)
			}
		})
	}
	for pattern, fn := range moreRoutes() {
		h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(h, w, r); err != nil {
				writeError(w, err)
			}
		})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, backend.Errorf(backend.CodeNotFound, "no such API endpoint: %s %s", r.Method, r.URL.Path))
	})
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func writeError(w http.ResponseWriter, err error) {
	var e *backend.Error
	if !errors.As(err, &e) {
		e = &backend.Error{Code: backend.CodeInternal, Message: err.Error()}
	} else if e.Message != err.Error() {
		e = &backend.Error{Code: e.Code, Message: err.Error()}
	}
	writeJSON(w, httpStatus(e.Code), e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func readFunction(r *http.Request) (*v1beta1.Function, error) {
	var fn v1beta1.Function
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBody))
	if err := dec.Decode(&fn); err != nil {
		return nil, backend.Errorf(backend.CodeInvalid, "request body is not a Function: %v", err)
	}
	return &fn, nil
}

func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := h.b.Status(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (h *Handler) serveList(w http.ResponseWriter, r *http.Request) error {
	fns, err := h.b.List(r.Context(), r.URL.Query().Get("namespace"))
	if err != nil {
		return err
	}
	if fns == nil {
		fns = []v1beta1.Function{}
	}
	writeJSON(w, http.StatusOK, fns)
	return nil
}

func (h *Handler) serveDeploy(w http.ResponseWriter, r *http.Request) error {
	fn, err := readFunction(r)
	if err != nil {
		return err
	}
	out, err := h.b.Deploy(r.Context(), fn)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (h *Handler) serveGet(w http.ResponseWriter, r *http.Request) error {
	fn, err := h.b.Get(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fn)
	return nil
}

func (h *Handler) serveUpdate(w http.ResponseWriter, r *http.Request) error {
	fn, err := readFunction(r)
	if err != nil {
		return err
	}
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if (fn.Name != "" && fn.Name != name) || (fn.Namespace != "" && fn.Namespace != ns) {
		return backend.Errorf(backend.CodeInvalid, "body names function %s/%s but the path names %s/%s", fn.Namespace, fn.Name, ns, name)
	}
	fn.Name, fn.Namespace = name, ns
	out, err := h.b.Update(r.Context(), fn)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.Delete(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) serveLogs(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := LogOptions{Follow: q.Get("follow") == "1" || q.Get("follow") == "true", Tail: -1}
	if t := q.Get("tail"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil {
			return backend.Errorf(backend.CodeInvalid, "tail=%q is not a number", t)
		}
		opts.Tail = n
	}
	lines, err := h.b.Logs(r.Context(), r.PathValue("ns"), r.PathValue("name"), opts)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	if fl != nil {
		fl.Flush()
	}
	for line := range lines {
		if _, err := fmt.Fprintln(w, line); err != nil {
			// The client went away; drain until the backend sees ctx end.
			for range lines {
			}
			return nil
		}
		if fl != nil {
			fl.Flush()
		}
	}
	return nil
}
