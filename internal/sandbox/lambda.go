package sandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Lambda (REST-JSON under /2015-03-31/functions): CreateFunction,
// GetFunction, GetFunctionConfiguration, UpdateFunctionConfiguration and
// DeleteFunction, the operations and shapes of botocore's
// lambda/2015-03-31 service model. Functions hold their configuration
// only: nothing runs. Each configuration change makes a new RevisionId, and
// UpdateFunctionConfiguration with a RevisionId that is not the current
// one fails with PreconditionFailedException (HTTP 412), as the Lambda API
// reference documents ("RevisionId: Update the function only if the
// revision ID matches the ID that's specified"). Environment variable
// names follow the model's pattern, Lambda's reserved names are refused
// and the variables may take 4 KB, as the Lambda Developer Guide
// ("Working with Lambda environment variables") says. Updates complete at
// once (LastUpdateStatus Successful); the environment's KMS encryption is
// not modelled.

// lambdaAPIPrefix is the path every operation of the 2015-03-31 API begins with.
const lambdaAPIPrefix = "/2015-03-31/functions"

func lambdaRoutes() []restRoute {
	return []restRoute{
		{Method: "POST", Path: lambdaAPIPrefix, Action: "CreateFunction", H: lambdaCreateFunction},
		{Method: "GET", Path: lambdaAPIPrefix + "/{FunctionName}", Action: "GetFunction", H: lambdaGetFunction},
		{Method: "DELETE", Path: lambdaAPIPrefix + "/{FunctionName}", Action: "DeleteFunction", H: lambdaDeleteFunction},
		{Method: "GET", Path: lambdaAPIPrefix + "/{FunctionName}/configuration", Action: "GetFunctionConfiguration", H: lambdaGetConfiguration},
		{Method: "PUT", Path: lambdaAPIPrefix + "/{FunctionName}/configuration", Action: "UpdateFunctionConfiguration", H: lambdaUpdateConfiguration},
	}
}

// LambdaFunction is a Lambda function's $LATEST configuration.
type LambdaFunction struct {
	Name        string `json:"name"`
	ARN         string `json:"arn"`
	Runtime     string `json:"runtime,omitempty"`
	Role        string `json:"role"`
	Handler     string `json:"handler,omitempty"`
	Description string `json:"description,omitempty"`
	Timeout     int    `json:"timeout"`
	MemorySize  int    `json:"memory_size"`
	// Environment is the function's environment variables.
	Environment  map[string]string `json:"environment,omitempty"`
	RevisionID   string            `json:"revision_id"`
	LastModified time.Time         `json:"last_modified"`
	CodeSha256   string            `json:"code_sha256"`
	CodeSize     int64             `json:"code_size"`
	Tags         map[string]string `json:"tags,omitempty"`
}

// lambdaReserved are the environment variable names Lambda sets itself and
// refuses in a function's configuration (Lambda Developer Guide, "Defined
// runtime environment variables": "Lambda reserves ... you can't set").
var lambdaReserved = map[string]bool{
	"_HANDLER": true, "_X_AMZN_TRACE_ID": true, "AWS_DEFAULT_REGION": true, "AWS_REGION": true,
	"AWS_EXECUTION_ENV": true, "AWS_LAMBDA_FUNCTION_NAME": true, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": true,
	"AWS_LAMBDA_FUNCTION_VERSION": true, "AWS_LAMBDA_INITIALIZATION_TYPE": true, "AWS_LAMBDA_LOG_GROUP_NAME": true,
	"AWS_LAMBDA_LOG_STREAM_NAME": true, "AWS_ACCESS_KEY": true, "AWS_ACCESS_KEY_ID": true,
	"AWS_SECRET_ACCESS_KEY": true, "AWS_SESSION_TOKEN": true, "AWS_LAMBDA_RUNTIME_API": true,
	"LAMBDA_TASK_ROOT": true, "LAMBDA_RUNTIME_DIR": true,
}

// lambdaMaxEnvironment is the limit on a function's environment variables
// (their JSON encoding), 4 KB.
const lambdaMaxEnvironment = 4096

var (
	lambdaEnvNameRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]+$`)
	lambdaNameRE    = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	lambdaRoleRE    = regexp.MustCompile(`^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$`)
)

func lambdaErr(status int, code, format string, args ...any) error {
	return errf(status, code, format, args...)
}

// match reports whether a REST route serves method and path, and returns
// the route's path parameters ({Name} segments, unescaped).
func (rt restRoute) match(method, path string) (map[string]string, bool) {
	if rt.Method != method {
		return nil, false
	}
	if !strings.Contains(rt.Path, "{") {
		return nil, rt.Path == path
	}
	ps, ks := strings.Split(rt.Path, "/"), strings.Split(path, "/")
	if len(ps) != len(ks) {
		return nil, false
	}
	params := map[string]string{}
	for i := range ps {
		if strings.HasPrefix(ps[i], "{") && strings.HasSuffix(ps[i], "}") {
			v, err := url.PathUnescape(ks[i])
			if err != nil || v == "" {
				return nil, false
			}
			params[strings.Trim(ps[i], "{}")] = v
			continue
		}
		if ps[i] != ks[i] {
			return nil, false
		}
	}
	return params, true
}

// lambdaFunctions returns an account's functions in a region.
func lambdaFunctions(a *Account, region string) map[string]*LambdaFunction {
	if a.LambdaFunctions == nil {
		a.LambdaFunctions = map[string]map[string]*LambdaFunction{}
	}
	m := a.LambdaFunctions[region]
	if m == nil {
		m = map[string]*LambdaFunction{}
		a.LambdaFunctions[region] = m
	}
	return m
}

// lambdaFunctionName resolves the FunctionName path parameter (a name, a
// partial ARN ACCOUNT:function:NAME or a function ARN, optionally with
// :$LATEST) to a name in the caller's account and region; ok is false when
// it names another account or region.
func lambdaFunctionName(r *request, id string) (string, bool) {
	id = strings.TrimSuffix(id, ":$LATEST")
	if !strings.Contains(id, ":") {
		return id, true
	}
	parts := strings.Split(id, ":")
	switch {
	case len(parts) == 7 && parts[0] == "arn" && parts[2] == "lambda" && parts[5] == "function":
		return parts[6], parts[3] == r.region && parts[4] == r.acct.ID
	case len(parts) == 3 && parts[1] == "function":
		return parts[2], parts[0] == r.acct.ID
	}
	return "", false
}

func lambdaARN(region, account, name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// lambdaFind returns the function the request's path names, or
// ResourceNotFoundException.
func lambdaFind(r *request) (*LambdaFunction, error) {
	id := r.pathParams["FunctionName"]
	name, ok := lambdaFunctionName(r, id)
	f := lambdaFunctions(r.acct, r.region)[name]
	if !ok || f == nil {
		return nil, lambdaErr(404, "ResourceNotFoundException", "Function not found: %s", lambdaARN(r.region, r.acct.ID, name))
	}
	return f, nil
}

// lambdaConfig is the FunctionConfiguration shape.
type lambdaConfig struct {
	FunctionName     string          `json:"FunctionName"`
	FunctionArn      string          `json:"FunctionArn"`
	Runtime          string          `json:"Runtime,omitempty"`
	Role             string          `json:"Role"`
	Handler          string          `json:"Handler,omitempty"`
	CodeSize         int64           `json:"CodeSize"`
	Description      string          `json:"Description"`
	Timeout          int             `json:"Timeout"`
	MemorySize       int             `json:"MemorySize"`
	LastModified     string          `json:"LastModified"`
	CodeSha256       string          `json:"CodeSha256"`
	Version          string          `json:"Version"`
	Environment      *lambdaEnvOut   `json:"Environment,omitempty"`
	TracingConfig    map[string]any  `json:"TracingConfig"`
	RevisionId       string          `json:"RevisionId"`
	State            string          `json:"State"`
	LastUpdateStatus string          `json:"LastUpdateStatus"`
	PackageType      string          `json:"PackageType"`
	Architectures    []string        `json:"Architectures"`
	EphemeralStorage map[string]int  `json:"EphemeralStorage"`
	LoggingConfig    json.RawMessage `json:"LoggingConfig,omitempty"`
}

type lambdaEnvOut struct {
	Variables map[string]string `json:"Variables"`
}

// lambdaTime is Lambda's timestamp format (a string, ISO 8601 with
// milliseconds and a +0000 offset).
func lambdaTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func (f *LambdaFunction) config() lambdaConfig {
	c := lambdaConfig{
		FunctionName: f.Name, FunctionArn: f.ARN, Runtime: f.Runtime, Role: f.Role, Handler: f.Handler,
		CodeSize: f.CodeSize, Description: f.Description, Timeout: f.Timeout, MemorySize: f.MemorySize,
		LastModified: lambdaTime(f.LastModified), CodeSha256: f.CodeSha256, Version: "$LATEST",
		TracingConfig: map[string]any{"Mode": "PassThrough"}, RevisionId: f.RevisionID, State: "Active",
		LastUpdateStatus: "Successful", PackageType: "Zip", Architectures: []string{"x86_64"},
		EphemeralStorage: map[string]int{"Size": 512},
	}
	if len(f.Environment) > 0 {
		env := make(map[string]string, len(f.Environment))
		for k, v := range f.Environment {
			env[k] = v
		}
		c.Environment = &lambdaEnvOut{Variables: env}
	}
	return c
}

// lambdaCheckEnvironment validates environment variables as Lambda does:
// the model's name pattern, no reserved name, 4 KB in all.
func lambdaCheckEnvironment(vars map[string]string) error {
	names := make([]string, 0, len(vars))
	for k := range vars {
		names = append(names, k)
	}
	sort.Strings(names)
	var reserved []string
	for _, k := range names {
		if !lambdaEnvNameRE.MatchString(k) {
			return lambdaErr(400, "ValidationException", "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
		}
		if lambdaReserved[k] {
			reserved = append(reserved, k)
		}
	}
	if len(reserved) > 0 {
		return lambdaErr(400, "InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: %s", strings.Join(reserved, ", "))
	}
	b, _ := json.Marshal(vars)
	if len(b) > lambdaMaxEnvironment {
		// Lambda's message quotes the variables it measured; the sandbox
		// gives only the size.
		return lambdaErr(400, "InvalidParameterValueException", "Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit. String measured: %d bytes", len(b))
	}
	return nil
}

type lambdaEnvIn struct {
	Variables map[string]string
}

type lambdaCreateInput struct {
	FunctionName string
	Runtime      string
	Role         string
	Handler      string
	Description  string
	Timeout      *int
	MemorySize   *int
	PackageType  string
	Code         *struct {
		ZipFile  []byte
		S3Bucket string
		S3Key    string
		ImageUri string
	}
	Environment *lambdaEnvIn
	Tags        map[string]string
}

func lambdaCreateFunction(r *request) (any, error) {
	var in lambdaCreateInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !lambdaNameRE.MatchString(in.FunctionName) {
		return nil, lambdaErr(400, "ValidationException", "1 validation error detected: Value '%s' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?", in.FunctionName)
	}
	if !lambdaRoleRE.MatchString(in.Role) {
		return nil, lambdaErr(400, "ValidationException", "1 validation error detected: Value '%s' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+", in.Role)
	}
	if in.Code == nil || (len(in.Code.ZipFile) == 0 && in.Code.S3Bucket == "" && in.Code.ImageUri == "") {
		return nil, lambdaErr(400, "InvalidParameterValueException", "Please provide a source for function code.")
	}
	if in.PackageType != "Image" && (in.Runtime == "" || in.Handler == "") {
		return nil, lambdaErr(400, "InvalidParameterValueException", "Runtime and Handler are mandatory parameters for functions created with deployment packages.")
	}
	roleName := in.Role[strings.LastIndex(in.Role, "/")+1:]
	if role := r.acct.Roles[roleName]; role == nil || role.ARN != in.Role {
		return nil, lambdaErr(400, "InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
	}
	fns := lambdaFunctions(r.acct, r.region)
	if fns[in.FunctionName] != nil {
		return nil, lambdaErr(409, "ResourceConflictException", "Function already exist: %s", in.FunctionName)
	}
	f := &LambdaFunction{
		Name: in.FunctionName, ARN: lambdaARN(r.region, r.acct.ID, in.FunctionName), Runtime: in.Runtime,
		Role: in.Role, Handler: in.Handler, Description: in.Description, Timeout: 3, MemorySize: 128,
		RevisionID: newRequestID(), LastModified: r.now, Tags: in.Tags,
	}
	if in.Timeout != nil {
		f.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		f.MemorySize = *in.MemorySize
	}
	sum := sha256.Sum256(in.Code.ZipFile)
	f.CodeSha256, f.CodeSize = base64.StdEncoding.EncodeToString(sum[:]), int64(len(in.Code.ZipFile))
	if in.Environment != nil {
		if err := lambdaCheckEnvironment(in.Environment.Variables); err != nil {
			return nil, err
		}
		f.Environment = in.Environment.Variables
	}
	fns[f.Name] = f
	r.status = 201
	return f.config(), nil
}

func lambdaGetConfiguration(r *request) (any, error) {
	f, err := lambdaFind(r)
	if err != nil {
		return nil, err
	}
	return f.config(), nil
}

func lambdaGetFunction(r *request) (any, error) {
	f, err := lambdaFind(r)
	if err != nil {
		return nil, err
	}
	out := map[string]any{
		"Configuration": f.config(),
		"Code":          map[string]string{"RepositoryType": "S3", "Location": "https://awslambda-" + r.region + "-tasks.s3." + r.region + ".amazonaws.com/snapshots/" + r.acct.ID + "/" + f.Name},
	}
	if len(f.Tags) > 0 {
		out["Tags"] = f.Tags
	}
	return out, nil
}

func lambdaDeleteFunction(r *request) (any, error) {
	f, err := lambdaFind(r)
	if err != nil {
		return nil, err
	}
	delete(lambdaFunctions(r.acct, r.region), f.Name)
	r.status = 204
	return nil, nil
}

type lambdaUpdateInput struct {
	Description *string
	Handler     *string
	Runtime     *string
	Timeout     *int
	MemorySize  *int
	Environment *lambdaEnvIn
	RevisionId  *string
}

func lambdaUpdateConfiguration(r *request) (any, error) {
	var in lambdaUpdateInput
	if err := r.decodeJSON(&in); err != nil {
		return nil, err
	}
	f, err := lambdaFind(r)
	if err != nil {
		return nil, err
	}
	if in.RevisionId != nil && *in.RevisionId != f.RevisionID {
		return nil, lambdaErr(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id")
	}
	if in.Environment != nil {
		if err := lambdaCheckEnvironment(in.Environment.Variables); err != nil {
			return nil, err
		}
		f.Environment = in.Environment.Variables
	}
	if in.Description != nil {
		f.Description = *in.Description
	}
	if in.Handler != nil {
		f.Handler = *in.Handler
	}
	if in.Runtime != nil {
		f.Runtime = *in.Runtime
	}
	if in.Timeout != nil {
		f.Timeout = *in.Timeout
	}
	if in.MemorySize != nil {
		f.MemorySize = *in.MemorySize
	}
	f.RevisionID = newRequestID()
	f.LastModified = r.now
	return f.config(), nil
}

// lambdaTarget maps a Lambda request to its IAM action and the function's ARN.
func lambdaTarget(r *request, t *authzTarget) {
	name := ""
	if r.action == "CreateFunction" {
		var in struct{ FunctionName string }
		_ = r.decodeJSON(&in)
		name = in.FunctionName
	} else {
		n, ok := lambdaFunctionName(r, r.pathParams["FunctionName"])
		if !ok {
			return
		}
		name = n
	}
	t.resource = lambdaARN(r.region, r.acct.ID, name)
	t.resourceAccount = r.acct.ID
	if f := lambdaFunctions(r.acct, r.region)[name]; f != nil {
		for _, k := range sortedKeys(f.Tags) {
			t.set("aws:ResourceTag/"+k, f.Tags[k])
		}
	}
}

// lambdaFunctions builds an account's Lambda functions from the scenario:
// each names one of the account's roles, its variables checked as
// UpdateFunctionConfiguration checks them.
func (b *builder) lambdaFunctions(path string, a *Account, specs []ScenarioLambdaFunction) {
	for i, spec := range specs {
		fp := path + "[" + strconv.Itoa(i) + "]"
		region := spec.Region
		if region == "" {
			region = "us-east-1"
		} else if !regionRe.MatchString(region) {
			b.problem(fp+".region", "invalid region %q", region)
			continue
		}
		if !lambdaNameRE.MatchString(spec.Name) {
			b.problem(fp+".name", "invalid function name %q (1 to 64 letters, digits, - and _)", spec.Name)
			continue
		}
		fns := lambdaFunctions(a, region)
		if fns[spec.Name] != nil {
			b.problem(fp+".name", "duplicate function %q in %s", spec.Name, region)
			continue
		}
		role := a.Roles[spec.Role]
		if role == nil {
			b.problem(fp+".role", "the execution role %q is not a role of the account (declare it under roles)", spec.Role)
			continue
		}
		if err := lambdaCheckEnvironment(spec.Environment); err != nil {
			b.problem(fp+".environment", "%s", strings.TrimPrefix(err.Error(), apiCode(err)+": "))
			continue
		}
		runtime := spec.Runtime
		if runtime == "" {
			runtime = "provided.al2023"
		}
		sum := sha256.Sum256(nil)
		h := b.ids.from("0123456789abcdef", 32)
		fns[spec.Name] = &LambdaFunction{
			Name: spec.Name, ARN: lambdaARN(region, a.ID, spec.Name), Runtime: runtime, Role: role.ARN, Handler: "bootstrap",
			Timeout: 3, MemorySize: 128, Environment: spec.Environment, RevisionID: h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32],
			LastModified: b.now, CodeSha256: base64.StdEncoding.EncodeToString(sum[:]),
		}
	}
}
