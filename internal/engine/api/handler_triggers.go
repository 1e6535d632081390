package api

import (
	"encoding/json"
	"io"
	"net/http"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/kubeless/kubeless/api/v1beta1"
	"github.com/kubeless/kubeless/internal/backend"
)

// moreRoutes are the endpoints of TriggerBackend.
func moreRoutes() map[string]func(*Handler, http.ResponseWriter, *http.Request) error {
	return map[string]func(*Handler, http.ResponseWriter, *http.Request) error{
		"GET /v1/metrics":                          (*Handler).serveTopAll,
		"GET /v1/functions/{ns}/{name}/metrics":    (*Handler).serveTop,
		"PUT /v1/functions/{ns}/{name}/autoscaler": (*Handler).serveSetAutoscaler,

		"GET /v1/httptriggers":                (*Handler).serveListHTTP,
		"POST /v1/httptriggers":               (*Handler).serveCreateHTTP,
		"GET /v1/httptriggers/{ns}/{name}":    (*Handler).serveGetHTTP,
		"PUT /v1/httptriggers/{ns}/{name}":    (*Handler).serveUpdateHTTP,
		"DELETE /v1/httptriggers/{ns}/{name}": (*Handler).serveDeleteHTTP,

		"GET /v1/cronjobtriggers":                (*Handler).serveListCron,
		"POST /v1/cronjobtriggers":               (*Handler).serveCreateCron,
		"GET /v1/cronjobtriggers/{ns}/{name}":    (*Handler).serveGetCron,
		"PUT /v1/cronjobtriggers/{ns}/{name}":    (*Handler).serveUpdateCron,
		"DELETE /v1/cronjobtriggers/{ns}/{name}": (*Handler).serveDeleteCron,
	}
}

func readJSON(r *http.Request, v any, what string) error {
	if err := json.NewDecoder(io.LimitReader(r.Body, MaxBody)).Decode(v); err != nil {
		return backend.Errorf(backend.CodeInvalid, "request body is not %s: %v", what, err)
	}
	return nil
}

// answer writes v (or err) with status.
func answer(w http.ResponseWriter, status int, v any, err error) error {
	if err != nil {
		return err
	}
	writeJSON(w, status, v)
	return nil
}

func (h *Handler) serveTopAll(w http.ResponseWriter, r *http.Request) error {
	rows, err := h.b.Top(r.Context(), r.URL.Query().Get("namespace"), "")
	if rows == nil {
		rows = []backend.FunctionMetrics{}
	}
	return answer(w, http.StatusOK, rows, err)
}

func (h *Handler) serveTop(w http.ResponseWriter, r *http.Request) error {
	rows, err := h.b.Top(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	if rows == nil {
		rows = []backend.FunctionMetrics{}
	}
	return answer(w, http.StatusOK, rows, err)
}

func (h *Handler) serveSetAutoscaler(w http.ResponseWriter, r *http.Request) error {
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	if err := readJSON(r, &hpa, "a HorizontalPodAutoscaler or null"); err != nil {
		return err
	}
	fn, err := h.b.SetAutoscaler(r.Context(), r.PathValue("ns"), r.PathValue("name"), hpa)
	return answer(w, http.StatusOK, fn, err)
}

// pathName checks that the body's name and namespace match the path's.
func pathName(r *http.Request, m *metaNames) error {
	ns, name := r.PathValue("ns"), r.PathValue("name")
	if (*m.name != "" && *m.name != name) || (*m.ns != "" && *m.ns != ns) {
		return backend.Errorf(backend.CodeInvalid, "body names %s/%s but the path names %s/%s", *m.ns, *m.name, ns, name)
	}
	*m.name, *m.ns = name, ns
	return nil
}

type metaNames struct{ ns, name *string }

func (h *Handler) serveListHTTP(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.b.ListHTTPTriggers(r.Context(), r.URL.Query().Get("namespace"))
	if ts == nil {
		ts = []v1beta1.HTTPTrigger{}
	}
	return answer(w, http.StatusOK, ts, err)
}

func (h *Handler) serveCreateHTTP(w http.ResponseWriter, r *http.Request) error {
	var t v1beta1.HTTPTrigger
	if err := readJSON(r, &t, "an HTTPTrigger"); err != nil {
		return err
	}
	out, err := h.b.CreateHTTPTrigger(r.Context(), &t)
	return answer(w, http.StatusCreated, out, err)
}

func (h *Handler) serveGetHTTP(w http.ResponseWriter, r *http.Request) error {
	out, err := h.b.GetHTTPTrigger(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	return answer(w, http.StatusOK, out, err)
}

func (h *Handler) serveUpdateHTTP(w http.ResponseWriter, r *http.Request) error {
	var t v1beta1.HTTPTrigger
	if err := readJSON(r, &t, "an HTTPTrigger"); err != nil {
		return err
	}
	if err := pathName(r, &metaNames{&t.Namespace, &t.Name}); err != nil {
		return err
	}
	out, err := h.b.UpdateHTTPTrigger(r.Context(), &t)
	return answer(w, http.StatusOK, out, err)
}

func (h *Handler) serveDeleteHTTP(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.DeleteHTTPTrigger(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) serveListCron(w http.ResponseWriter, r *http.Request) error {
	ts, err := h.b.ListCronJobTriggers(r.Context(), r.URL.Query().Get("namespace"))
	if ts == nil {
		ts = []v1beta1.CronJobTrigger{}
	}
	return answer(w, http.StatusOK, ts, err)
}

func (h *Handler) serveCreateCron(w http.ResponseWriter, r *http.Request) error {
	var t v1beta1.CronJobTrigger
	if err := readJSON(r, &t, "a CronJobTrigger"); err != nil {
		return err
	}
	out, err := h.b.CreateCronJobTrigger(r.Context(), &t)
	return answer(w, http.StatusCreated, out, err)
}

func (h *Handler) serveGetCron(w http.ResponseWriter, r *http.Request) error {
	out, err := h.b.GetCronJobTrigger(r.Context(), r.PathValue("ns"), r.PathValue("name"))
	return answer(w, http.StatusOK, out, err)
}

func (h *Handler) serveUpdateCron(w http.ResponseWriter, r *http.Request) error {
	var t v1beta1.CronJobTrigger
	if err := readJSON(r, &t, "a CronJobTrigger"); err != nil {
		return err
	}
	if err := pathName(r, &metaNames{&t.Namespace, &t.Name}); err != nil {
		return err
	}
	out, err := h.b.UpdateCronJobTrigger(r.Context(), &t)
	return answer(w, http.StatusOK, out, err)
}

func (h *Handler) serveDeleteCron(w http.ResponseWriter, r *http.Request) error {
	if err := h.b.DeleteCronJobTrigger(r.Context(), r.PathValue("ns"), r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
