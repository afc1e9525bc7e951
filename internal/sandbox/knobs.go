package sandbox

import "time"

// defaultReportBuildTime is how long (sandbox time) credential report
// generation takes unless SetReportBuildTime says otherwise: a client
// polling every second or two sees COMPLETE within a few polls, as on AWS.
const defaultReportBuildTime = 2 * time.Second

// SetReportBuildTime sets how long credential report generation takes, in
// sandbox time; 0 makes reports complete at once (the first
// GenerateCredentialReport still answers STARTED, as AWS does).
func (s *Server) SetReportBuildTime(d time.Duration) {
	s.faults.mu.Lock()
	s.faults.reportBuildTime = &d
	s.faults.mu.Unlock()
}

// ReportBuildTime returns the credential report build time.
func (s *Server) ReportBuildTime() time.Duration {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	if s.faults.reportBuildTime == nil {
		return defaultReportBuildTime
	}
	return *s.faults.reportBuildTime
}
