package chart

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
)

const sampleChart = "../../charts/rehearse-sample"

// release "rs" + chart "rehearse-sample" gives the fullname below.
const fullname = "rs-rehearse-sample"

func render(t *testing.T, values map[string]any) *Rendered {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := Render(ctx, sampleChart, "rs", "certs", values)
	require.NoError(t, err)
	return r
}

func decode[T any](t *testing.T, r *Rendered, kind, name string) *T {
	t.Helper()
	o, ok := r.Find(kind, name)
	require.True(t, ok, "no %s/%s among %v", kind, name, r.Names())
	var v T
	require.NoError(t, o.Decode(&v))
	return &v
}

func envOf(c corev1.Container, name string) (corev1.EnvVar, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e, true
		}
	}
	return corev1.EnvVar{}, false
}

// assertServer checks the Deployment every value set must render.
func assertServer(t *testing.T, r *Rendered, viaHook string, dbSecret string) {
	t.Helper()
	d := decode[appsv1.Deployment](t, r, "Deployment", fullname)
	c := d.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "rehearse-sample/app:1.2", c.Image)
	assert.NotContains(t, c.Image, "latest")
	require.NotNil(t, c.ReadinessProbe)
	assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
	require.NotNil(t, c.LivenessProbe)
	assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
	hook, ok := envOf(c, "MIGRATIONS_VIA_HOOK")
	require.True(t, ok)
	assert.Equal(t, viaHook, hook.Value)
	db, ok := envOf(c, "DATABASE_URL")
	require.True(t, ok)
	require.NotNil(t, db.ValueFrom)
	assert.Equal(t, dbSecret, db.ValueFrom.SecretKeyRef.Name)
	decode[corev1.Service](t, r, "Service", fullname)
}

func assertPostgres(t *testing.T, r *Rendered) {
	t.Helper()
	s := decode[appsv1.StatefulSet](t, r, "StatefulSet", fullname+"-postgresql")
	assert.Equal(t, appsv1.OnDeleteStatefulSetStrategyType, s.Spec.UpdateStrategy.Type)
	assert.Equal(t, appsv1.OrderedReadyPodManagement, s.Spec.PodManagementPolicy)
	require.Len(t, s.Spec.VolumeClaimTemplates, 1)
	assert.Equal(t, "1Gi", s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String())
	c := s.Spec.Template.Spec.Containers[0]
	assert.Equal(t, "kind-offline/postgres:15", c.Image)
	assert.Equal(t, corev1.PullIfNotPresent, c.ImagePullPolicy)
	assert.Equal(t, "/var/lib/postgresql/data", c.VolumeMounts[0].MountPath)
	decode[corev1.Service](t, r, "Service", fullname+"-postgresql")
	h := decode[corev1.Service](t, r, "Service", fullname+"-postgresql-headless")
	assert.Equal(t, "None", h.Spec.ClusterIP)
	assert.Equal(t, fullname+"-postgresql-headless", s.Spec.ServiceName)
}

func assertBackup(t *testing.T, r *Rendered) {
	t.Helper()
	cj := decode[batchv1.CronJob](t, r, "CronJob", fullname+"-backup")
	assert.Equal(t, batchv1.ForbidConcurrent, cj.Spec.ConcurrencyPolicy)
	pod := cj.Spec.JobTemplate.Spec.Template.Spec
	script := strings.Join(pod.Containers[0].Args, "\n")
	assert.Contains(t, script, "pg_dump --format=custom --no-owner --no-acl")
	require.Len(t, pod.Volumes, 1)
	assert.Equal(t, fullname+"-backups", pod.Volumes[0].PersistentVolumeClaim.ClaimName)
	pvc := decode[corev1.PersistentVolumeClaim](t, r, "PersistentVolumeClaim", fullname+"-backups")
	assert.Equal(t, "keep", pvc.Annotations["helm.sh/resource-policy"])
}

func assertMigrationHook(t *testing.T, r *Rendered) {
	t.Helper()
	o, ok := r.Find("Job", fullname+"-migrate")
	require.True(t, ok, "%v", r.Names())
	assert.Equal(t, "pre-install,pre-upgrade", o.Hook)
	j := decode[batchv1.Job](t, r, "Job", fullname+"-migrate")
	c := j.Spec.Template.Spec.Containers[0]
	assert.Contains(t, c.Args, "--migrate-only")
	assert.Equal(t, "rehearse-sample/app:1.2", c.Image)
	assert.Equal(t, corev1.RestartPolicyNever, j.Spec.Template.Spec.RestartPolicy)
}

func alertNames(t *testing.T, r *Rendered) []string {
	t.Helper()
	o, ok := r.Find("PrometheusRule", fullname)
	require.True(t, ok, "%v", r.Names())
	assert.Equal(t, "monitoring.coreos.com/v1", o.APIVersion)
	var pr struct {
		Spec struct {
			Groups []struct {
				Rules []struct {
					Alert string `json:"alert"`
					Expr  string `json:"expr"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	require.NoError(t, o.Decode(&pr))
	var names []string
	for _, g := range pr.Spec.Groups {
		for _, rule := range g.Rules {
			assert.NotEmpty(t, rule.Expr, rule.Alert)
			names = append(names, rule.Alert)
		}
	}
	return names
}

func TestRenderValueSets(t *testing.T) {
	dbSecret := fullname + "-db"
	tests := []struct {
		name   string
		values map[string]any
		absent []string // "Kind/name" that must not be rendered
		check  func(t *testing.T, r *Rendered)
	}{
		{
			name:   "defaults",
			values: nil,
			absent: []string{"Job/" + fullname + "-migrate", "CronJob/" + fullname + "-backup", "PrometheusRule/" + fullname, "PersistentVolumeClaim/" + fullname + "-backups"},
			check: func(t *testing.T, r *Rendered) {
				assertServer(t, r, "false", dbSecret)
				assertPostgres(t, r)
				s := decode[corev1.Secret](t, r, "Secret", dbSecret)
				assert.Equal(t, "postgres://certs:certs-rehearsal@"+fullname+"-postgresql:5432/certs?sslmode=disable", s.StringData["url"])
			},
		},
		{
			name:   "backup",
			values: map[string]any{"backup": map[string]any{"enabled": true}},
			absent: []string{"Job/" + fullname + "-migrate", "PrometheusRule/" + fullname},
			check: func(t *testing.T, r *Rendered) {
				assertServer(t, r, "false", dbSecret)
				assertBackup(t, r)
			},
		},
		{
			name:   "rules",
			values: map[string]any{"monitoring": map[string]any{"prometheusRules": map[string]any{"enabled": true, "labels": map[string]any{"release": "prometheus"}}}},
			absent: []string{"CronJob/" + fullname + "-backup"},
			check: func(t *testing.T, r *Rendered) {
				names := alertNames(t, r)
				assert.Contains(t, names, "CertInventoryServerNotReady")
				assert.Contains(t, names, "CertInventoryPostgresNotReady")
				assert.NotContains(t, names, "CertInventoryBackupTooOld", "no backup alerts without backups")
				o, _ := r.Find("PrometheusRule", fullname)
				assert.Contains(t, string(o.YAML), "release: prometheus")
			},
		},
		{
			name:   "viaHook",
			values: map[string]any{"migrations": map[string]any{"viaHook": true}},
			absent: []string{"CronJob/" + fullname + "-backup"},
			check: func(t *testing.T, r *Rendered) {
				assertServer(t, r, "true", dbSecret)
				assertMigrationHook(t, r)
				o, ok := r.Find("Secret", fullname+"-migrate")
				require.True(t, ok, "the hook Job needs a Secret that exists before the release's own objects")
				assert.Equal(t, "pre-install,pre-upgrade", o.Hook)
			},
		},
		{
			name: "all-on",
			values: map[string]any{
				"migrations": map[string]any{"viaHook": true},
				"backup":     map[string]any{"enabled": true},
				"monitoring": map[string]any{"prometheusRules": map[string]any{"enabled": true}},
			},
			check: func(t *testing.T, r *Rendered) {
				assertServer(t, r, "true", dbSecret)
				assertPostgres(t, r)
				assertBackup(t, r)
				assertMigrationHook(t, r)
				assert.Contains(t, alertNames(t, r), "CertInventoryBackupTooOld")
			},
		},
		{
			name: "external DB",
			values: map[string]any{
				"postgresql":       map[string]any{"enabled": false},
				"externalDatabase": map[string]any{"url": "postgres://app:pw@db.prod.internal:5432/certs?sslmode=require"},
				"backup":           map[string]any{"enabled": true},
			},
			absent: []string{"StatefulSet/" + fullname + "-postgresql", "Service/" + fullname + "-postgresql", "Service/" + fullname + "-postgresql-headless"},
			check: func(t *testing.T, r *Rendered) {
				assertServer(t, r, "false", dbSecret)
				s := decode[corev1.Secret](t, r, "Secret", dbSecret)
				assert.Equal(t, "postgres://app:pw@db.prod.internal:5432/certs?sslmode=require", s.StringData["url"])
				assert.NotContains(t, s.StringData, "password")
				assertBackup(t, r)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := render(t, tt.values)
			for _, a := range tt.absent {
				kind, name, _ := strings.Cut(a, "/")
				_, found := r.Find(kind, name)
				assert.False(t, found, "%s must not be rendered", a)
			}
			tt.check(t, r)
			assert.Contains(t, r.Notes, fullname)

			msgs, err := Lint(sampleChart, "certs", tt.values)
			require.NoError(t, err, "lint messages: %v", msgs)
			for _, m := range msgs {
				assert.NotEqual(t, "WARNING", m.Severity, "%v", m)
			}
		})
	}
}

func TestRenderRejectsBadValues(t *testing.T) {
	tests := []struct {
		name    string
		values  map[string]any
		wantErr string
	}{
		{"latest tag", map[string]any{"image": map[string]any{"tag": "latest"}}, `image.tag: "latest" is not allowed`},
		{"external DB without URL", map[string]any{"postgresql": map[string]any{"enabled": false}}, "externalDatabase.url (or externalDatabase.existingSecret) is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err := Render(ctx, sampleChart, "rs", "certs", tt.values)
			// helm lint only logs fail/required in its lint mode, so Render is
			// what turns these values away.
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestRenderExternalSecretNeedsNoURL(t *testing.T) {
	r := render(t, map[string]any{
		"postgresql":       map[string]any{"enabled": false},
		"externalDatabase": map[string]any{"existingSecret": "prod-db", "existingSecretKey": "dsn"},
		"migrations":       map[string]any{"viaHook": true},
	})
	_, found := r.Find("Secret", fullname+"-db")
	assert.False(t, found, "an existing Secret is used, none is created")
	d := decode[appsv1.Deployment](t, r, "Deployment", fullname)
	db, _ := envOf(d.Spec.Template.Spec.Containers[0], "DATABASE_URL")
	assert.Equal(t, "prod-db", db.ValueFrom.SecretKeyRef.Name)
	assert.Equal(t, "dsn", db.ValueFrom.SecretKeyRef.Key)
	j := decode[batchv1.Job](t, r, "Job", fullname+"-migrate")
	jdb, _ := envOf(j.Spec.Template.Spec.Containers[0], "DATABASE_URL")
	assert.Equal(t, "prod-db", jdb.ValueFrom.SecretKeyRef.Name)
}
