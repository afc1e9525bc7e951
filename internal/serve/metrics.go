package serve

import (
	"context"
	"errors"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/keyrot/keyrot/internal/app"
	"github.com/keyrot/keyrot/internal/audit"
	"github.com/keyrot/keyrot/internal/awsconf"
	"github.com/keyrot/keyrot/internal/policy"
)

// Run outcomes, the values of the outcome label of the run metrics.
const (
	OutcomeSucceeded   = "succeeded"
	OutcomePartial     = "partial"
	OutcomeFailed      = "failed"
	OutcomeDeadline    = "deadline_exceeded"
	OutcomeInterrupted = "interrupted"
)

// Outcomes are every run outcome, in order.
var Outcomes = []string{OutcomeSucceeded, OutcomePartial, OutcomeFailed, OutcomeDeadline, OutcomeInterrupted}

// Metrics are keyrot serve's Prometheus metrics, in a registry of their
// own with the Go, process and build-info collectors. Labels are bounded:
// account IDs, rule IDs, severities, action kinds, channel names from the
// configuration and AWS operations; never user names or key IDs.
type Metrics struct {
	// Registry is what /metrics serves.
	Registry *prometheus.Registry

	findings       *prometheus.GaugeVec
	findingsExempt *prometheus.GaugeVec
	kindFindings   *prometheus.GaugeVec
	credentials    *prometheus.GaugeVec
	keysByAge      *prometheus.GaugeVec
	keysDue        *prometheus.GaugeVec
	keysOverdue    *prometheus.GaugeVec
	actions        *prometheus.CounterVec
	blocked        prometheus.Gauge
	deliveries     *prometheus.CounterVec
	deliveryFails  *prometheus.CounterVec
	awsCalls       *prometheus.CounterVec
	awsErrors      *prometheus.CounterVec
	awsThrottles   *prometheus.CounterVec
	runs           *prometheus.CounterVec
	running        *prometheus.GaugeVec
	lastStart      *prometheus.GaugeVec
	lastDuration   *prometheus.GaugeVec
	lastOutcome    *prometheus.GaugeVec
	reloadOK       prometheus.Gauge
	reloadTime     prometheus.Gauge
}

// NewMetrics registers keyrot's metrics, with version in keyrot_build_info.
func NewMetrics(version string) *Metrics {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f(collectors.NewBuildInfoCollector())
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "keyrot_build_info",
		Help: "Always 1; the labels say which keyrot is running."}, []string{"version", "goversion"})
	build.WithLabelValues(version, runtime.Version()).Set(1)
	f(build)
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
		f(g)
		return g
	}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		f(c)
		return c
	}
	m := &Metrics{
		Registry:       reg,
		findings:       gauge("keyrot_findings", "Findings of the last audit that are not exempt, by severity, rule and account.", "severity", "rule", "account"),
		findingsExempt: gauge("keyrot_findings_exempt", "Exempt findings of the last audit, by rule and account.", "rule", "account"),
		kindFindings:   gauge("keyrot_kind_findings", "Findings of the last audit that are not exempt, by credential kind (access-key, acm-certificate, secret, trust-anchor, ...) and severity.", "kind", "severity"),
		credentials:    gauge("keyrot_credentials", "Long-term credentials at the last audit (the inventory's rows), by credential kind and account.", "kind", "account"),
		keysByAge:      gauge("keyrot_access_keys", "Active access keys at the last audit, by account and age bucket in days.", "account", "age_bucket"),
		keysDue:        gauge("keyrot_access_keys_due", "Active access keys past the rotation age and not yet past the deactivation age at the last audit (not exempt), by account.", "account"),
		keysOverdue:    gauge("keyrot_access_keys_overdue", "Active access keys past the deactivation age at the last audit (not exempt), by account.", "account"),
		actions:        counter("keyrot_actions_total", "Actions carried out by apply runs, by kind and outcome.", "kind", "outcome"),
		blocked: func() prometheus.Gauge {
			g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "keyrot_blocked_rotations", Help: "Plan items of the last apply blocked until a person acts."})
			f(g)
			return g
		}(),
		deliveries:    counter("keyrot_notification_deliveries_total", "Notification digests offered to a channel, by channel.", "channel"),
		deliveryFails: counter("keyrot_notification_delivery_failures_total", "Notification digests a channel failed to deliver, by channel.", "channel"),
		awsCalls:      counter("keyrot_aws_calls_total", "AWS API calls (retries included in one call), by service and operation.", "service", "operation"),
		awsErrors:     counter("keyrot_aws_call_errors_total", "AWS API calls that failed after their retries, by service and operation.", "service", "operation"),
		awsThrottles:  counter("keyrot_aws_throttles_total", "Attempts of AWS API calls that AWS throttled, by service and operation.", "service", "operation"),
		runs:          counter("keyrot_runs_total", "Runs finished, by kind and outcome.", "kind", "outcome"),
		running:       gauge("keyrot_runs_in_progress", "Runs going now, by kind (0 or 1).", "kind"),
		lastStart:     gauge("keyrot_last_run_start_timestamp_seconds", "When the last finished run of a kind started, in seconds since the Unix epoch.", "kind"),
		lastDuration:  gauge("keyrot_last_run_duration_seconds", "How long the last finished run of a kind took.", "kind"),
		lastOutcome:   gauge("keyrot_last_run_outcome", "1 for the outcome of the last finished run of a kind, 0 for the others.", "kind", "outcome"),
	}
	m.reloadOK = prometheus.NewGauge(prometheus.GaugeOpts{Name: "keyrot_config_last_reload_successful", Help: "Whether the last configuration reload (SIGHUP) succeeded: 1 yes, 0 no (the previous configuration is kept)."})
	m.reloadTime = prometheus.NewGauge(prometheus.GaugeOpts{Name: "keyrot_config_last_reload_success_timestamp_seconds", Help: "When the configuration was last loaded successfully, in seconds since the Unix epoch."})
	f(m.reloadOK)
	f(m.reloadTime)
	return m
}

// initKinds makes every run series present from the start, at zero.
func (m *Metrics) initKinds(kinds []string) {
	for _, k := range kinds {
		m.running.WithLabelValues(k).Set(0)
		for _, o := range Outcomes {
			m.runs.WithLabelValues(k, o)
		}
	}
}

// configLoaded records a reload's result.
func (m *Metrics) configLoaded(ok bool, at time.Time) {
	if ok {
		m.reloadOK.Set(1)
		m.reloadTime.Set(float64(at.Unix()))
		return
	}
	m.reloadOK.Set(0)
}

// ObserveCall counts an AWS call (it makes Metrics an awsconf.CallObserver).
func (m *Metrics) ObserveCall(_ context.Context, c awsconf.Call) {
	m.awsCalls.WithLabelValues(c.Service, c.Operation).Inc()
	if c.Err != nil && !errors.Is(c.Err, context.Canceled) {
		m.awsErrors.WithLabelValues(c.Service, c.Operation).Inc()
	}
}

// ObserveThrottle counts a throttled attempt.
func (m *Metrics) ObserveThrottle(_ context.Context, service, operation string) {
	m.awsThrottles.WithLabelValues(service, operation).Inc()
}

var _ awsconf.CallObserver = (*Metrics)(nil)

// observeAudit replaces the audit gauges with those of res.
func (m *Metrics) observeAudit(res *audit.Result) {
	m.findings.Reset()
	m.findingsExempt.Reset()
	m.kindFindings.Reset()
	m.credentials.Reset()
	for kind, byAccount := range audit.CountCredentials(res.Snapshot) {
		for account, n := range byAccount {
			m.credentials.WithLabelValues(kind, account).Set(float64(n))
		}
	}
	m.keysByAge.Reset()
	m.keysDue.Reset()
	m.keysOverdue.Reset()
	for _, h := range audit.KeyAgeHistogram(res) {
		m.keysDue.WithLabelValues(h.AccountID).Set(0)
		m.keysOverdue.WithLabelValues(h.AccountID).Set(0)
		for _, b := range h.Buckets {
			m.keysByAge.WithLabelValues(h.AccountID, b.Label).Set(float64(b.Count))
		}
	}
	for _, f := range res.Findings {
		if f.Exempt {
			m.findingsExempt.WithLabelValues(f.Rule, f.AccountID).Inc()
			continue
		}
		m.findings.WithLabelValues(f.Severity.String(), f.Rule, f.AccountID).Inc()
		m.kindFindings.WithLabelValues(audit.RuleKind(f.Rule), f.Severity.String()).Inc()
		if f.Rule == policy.RuleAccessKeyAge {
			// The audit says high once a key is past deactivate_after.
			if f.Severity >= audit.SeverityHigh {
				m.keysOverdue.WithLabelValues(f.AccountID).Inc()
			} else {
				m.keysDue.WithLabelValues(f.AccountID).Inc()
			}
		}
	}
}

// observeApply counts an apply's actions and deliveries and sets the
// blocked gauge.
func (m *Metrics) observeApply(res *app.ApplyResult) {
	if res == nil {
		return
	}
	if res.Plan != nil && res.Plan.Plan != nil {
		m.blocked.Set(float64(len(res.Plan.Plan.Blocked)))
	}
	if res.Result != nil {
		for _, o := range res.Result.Outcomes {
			m.actions.WithLabelValues(string(o.Kind), string(o.Status)).Inc()
		}
	}
	if res.Notify != nil {
		for _, d := range res.Notify.Deliveries {
			m.deliveries.WithLabelValues(d.Channel).Inc()
			if d.Error != "" {
				m.deliveryFails.WithLabelValues(d.Channel).Inc()
			}
		}
	}
}

// runStarted and runFinished keep the run gauges.
func (m *Metrics) runStarted(kind string) { m.running.WithLabelValues(kind).Set(1) }

func (m *Metrics) runFinished(kind, outcome string, start time.Time, d time.Duration) {
	m.running.WithLabelValues(kind).Set(0)
	m.runs.WithLabelValues(kind, outcome).Inc()
	m.lastStart.WithLabelValues(kind).Set(float64(start.UnixNano()) / 1e9)
	m.lastDuration.WithLabelValues(kind).Set(d.Seconds())
	for _, o := range Outcomes {
		v := 0.0
		if o == outcome {
			v = 1
		}
		m.lastOutcome.WithLabelValues(kind, o).Set(v)
	}
}
