package kubeengine

import (
	"context"
	"fmt"
	"os"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeless/kubeless/internal/langruntime"
)

// ConfigLocation is where the cluster's kubeless-config is: the
// KUBELESS_NAMESPACE and KUBELESS_CONFIG variables, else kubeless and
// kubeless-config, as in the original.
func ConfigLocation() types.NamespacedName {
	key := types.NamespacedName{Namespace: "kubeless", Name: "kubeless-config"}
	if v := strings.TrimSpace(os.Getenv("KUBELESS_NAMESPACE")); v != "" {
		key.Namespace = v
	}
	if v := strings.TrimSpace(os.Getenv("KUBELESS_CONFIG")); v != "" {
		key.Name = v
	}
	return key
}

// Catalog returns the runtime catalog the cluster's controller uses: the
// runtime-images key of kubeless-config, or the built-in catalog when the
// ConfigMap or the key is missing (the controller does the same).
func (e *Engine) Catalog(ctx context.Context) (*langruntime.Catalog, error) {
	key := ConfigLocation()
	var cm corev1.ConfigMap
	err := e.c.Get(ctx, key, &cm)
	if apierrors.IsNotFound(err) {
		return langruntime.Default(), nil
	}
	if err != nil {
		return nil, e.apiError(err)
	}
	cat := langruntime.Default()
	if raw := strings.TrimSpace(cm.Data["runtime-images"]); raw != "" {
		if cat, err = langruntime.Parse([]byte(raw)); err != nil {
			return nil, fmt.Errorf("ConfigMap %s, key runtime-images: %w", key, err)
		}
	}
	if cat.RefuseOldNames, err = langruntime.ParseOldNames(cm.Data["legacy-runtimes"]); err != nil {
		return nil, fmt.Errorf("ConfigMap %s, key legacy-runtimes: %w", key, err)
	}
	return cat, nil
}
