package lambdalocal

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FakeAWS answers, on loopback, the calls the functions make to the AWS
// services that cannot run on this machine, in their JSON protocols (the
// operation in the X-Amz-Target header): Secrets Manager's and SSM's
// reads of the API key, Step Functions' StartExecution, and Amazon
// Transcribe's StartTranscriptionJob and GetTranscriptionJob. It records
// every call. It runs nothing: an execution is only recorded, and a
// transcription job stays IN_PROGRESS. Any other operation is refused,
// so that nothing meant for AWS goes unnoticed.
type FakeAWS struct {
	URL     string            // the endpoint, for every service
	Secrets map[string]string // secret id or parameter name -> value
	Region  string
	Account string

	srv        *http.Server
	mu         sync.Mutex
	calls      []Call
	executions map[string]string // name -> input
	jobs       map[string]map[string]any
}

// Call is one request: its operation and its body.
type Call struct {
	Target string          // e.g. AWSStepFunctions.StartExecution
	Body   json.RawMessage // the request's JSON
}

// StartFakeAWS serves the fake services on a loopback port.
func StartFakeAWS(secrets map[string]string) (*FakeAWS, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fake AWS: %w", err)
	}
	f := &FakeAWS{URL: "http://" + ln.Addr().String(), Secrets: secrets, Region: "us-east-1", Account: "123456789012",
		executions: map[string]string{}, jobs: map[string]map[string]any{}}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

// Close stops serving.
func (f *FakeAWS) Close() error { return f.srv.Close() }

// Calls returns the calls so far.
func (f *FakeAWS) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

// awsError is the JSON protocols' error: its type in __type.
type awsError struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *awsError) Error() string { return e.Type + ": " + e.Message }

func (f *FakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost || target == "" || !json.Valid(body) {
		f.reply(w, r, nil, &awsError{"UnknownOperationException", "not a JSON protocol request: " + r.Method + " " + r.URL.Path})
		return
	}
	f.mu.Lock()
	f.calls = append(f.calls, Call{Target: target, Body: body})
	f.mu.Unlock()
	var out any
	switch target {
	case "secretsmanager.GetSecretValue":
		out, err = f.getSecretValue(body)
	case "AmazonSSM.GetParameter":
		out, err = f.getParameter(body)
	case "AWSStepFunctions.StartExecution":
		out, err = f.startExecution(body)
	case "Transcribe.StartTranscriptionJob":
		out, err = f.startTranscriptionJob(body)
	case "Transcribe.GetTranscriptionJob":
		out, err = f.getTranscriptionJob(body)
	default:
		err = &awsError{"UnknownOperationException", target + " is not served by clipmill's fake AWS"}
	}
	f.reply(w, r, out, err)
}

func (f *FakeAWS) reply(w http.ResponseWriter, r *http.Request, out any, err error) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "application/x-amz-json-") {
		ct = "application/x-amz-json-1.1"
	}
	w.Header().Set("Content-Type", ct)
	if err != nil {
		ae, ok := err.(*awsError)
		if !ok {
			ae = &awsError{"ValidationException", err.Error()}
		}
		w.Header().Set("X-Amzn-Errortype", ae.Type)
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(ae)
		return
	}
	json.NewEncoder(w).Encode(out)
}

func (f *FakeAWS) getSecretValue(body []byte) (any, error) {
	var in struct{ SecretId string }
	json.Unmarshal(body, &in)
	v, ok := f.Secrets[in.SecretId]
	if !ok {
		return nil, &awsError{"ResourceNotFoundException", "Secrets Manager can't find the specified secret."}
	}
	return map[string]any{
		"ARN":           fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", f.Region, f.Account, in.SecretId),
		"Name":          in.SecretId,
		"SecretString":  v,
		"VersionId":     "00000000-0000-4000-8000-000000000001",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   float64(time.Now().Unix()),
	}, nil
}

func (f *FakeAWS) getParameter(body []byte) (any, error) {
	var in struct{ Name string }
	json.Unmarshal(body, &in)
	v, ok := f.Secrets[in.Name]
	if !ok {
		v, ok = f.Secrets[strings.TrimPrefix(in.Name, "/")]
	}
	if !ok {
		return nil, &awsError{"ParameterNotFound", ""}
	}
	return map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1}}, nil
}

// startExecution records the execution. A name that ran already answers
// as Step Functions does: the same execution for the same input,
// ExecutionAlreadyExists for another.
func (f *FakeAWS) startExecution(body []byte) (any, error) {
	var in struct {
		StateMachineArn string `json:"stateMachineArn"`
		Name            string `json:"name"`
		Input           string `json:"input"`
	}
	json.Unmarshal(body, &in)
	arn := in.StateMachineArn
	if !strings.HasPrefix(arn, "arn:aws:states:") || !strings.Contains(arn, ":stateMachine:") || in.Name == "" || !json.Valid([]byte(in.Input)) {
		return nil, &awsError{"ValidationException", "a stateMachineArn, a name and a JSON input are needed"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if prev, ran := f.executions[in.Name]; ran && prev != in.Input {
		return nil, &awsError{"ExecutionAlreadyExists", "Execution Already Exists: '" + in.Name + "'"}
	}
	f.executions[in.Name] = in.Input
	return map[string]any{"executionArn": strings.Replace(arn, ":stateMachine:", ":execution:", 1) + ":" + in.Name,
		"startDate": float64(time.Now().Unix())}, nil
}

func (f *FakeAWS) startTranscriptionJob(body []byte) (any, error) {
	var in map[string]any
	json.Unmarshal(body, &in)
	name, _ := in["TranscriptionJobName"].(string)
	if name == "" {
		return nil, &awsError{"BadRequestException", "TranscriptionJobName is required"}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.jobs[name]; ok {
		return nil, &awsError{"ConflictException", "The requested job name already exists. Use a different job name."}
	}
	job := map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": "IN_PROGRESS",
		"Media": in["Media"], "MediaFormat": in["MediaFormat"], "CreationTime": float64(time.Now().Unix())}
	f.jobs[name] = job
	return map[string]any{"TranscriptionJob": job}, nil
}

func (f *FakeAWS) getTranscriptionJob(body []byte) (any, error) {
	var in struct{ TranscriptionJobName string }
	json.Unmarshal(body, &in)
	f.mu.Lock()
	defer f.mu.Unlock()
	job, ok := f.jobs[in.TranscriptionJobName]
	if !ok {
		return nil, &awsError{"BadRequestException", "The requested job couldn't be found. Check the job name and try your request again."}
	}
	return map[string]any{"TranscriptionJob": job}, nil
}
