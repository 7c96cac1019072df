package main

// Who may call what. A client's role is the organizational unit (OU) of its certificate's
// subject, which only the cluster's CA can vouch for; its CN names it in the server's log.
//
//	worker    the engine: polls its task queues and answers tasks; nobody else may, so an
//	          operator's certificate cannot take a step's task or report a step done.
//	operator  people and the Web UI: start, signal, update, query and cancel runs, schedules,
//	          and every read.
//	admin     terminate, reset and delete runs, batch jobs, namespaces, search attributes,
//	          worker deployments; never the worker's calls.
//	system    the server's own system worker (scheduler, batcher, deployments): everything.
//
// A workflow id under lockPrefix (the engine's environment locks) is acted on by the engine
// only: no start, signal, update, cancel, terminate or reset by id from anyone else.

import (
	"context"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/server/common/api"
	"go.temporal.io/server/common/authorization"
)

const lockPrefix = "environment-lock-"

type role string

const (
	roleWorker   role = "worker"
	roleOperator role = "operator"
	roleAdmin    role = "admin"
	roleSystem   role = "system"
)

// Informational only: the server's own code reads Claims.System in a few places (e.g. the
// namespace list a caller sees), and an admin should see everything there.
var temporalRole = map[role]authorization.Role{
	roleWorker:   authorization.RoleWorker,
	roleOperator: authorization.RoleWriter,
	roleAdmin:    authorization.RoleAdmin,
	roleSystem:   authorization.RoleAdmin,
}

type certificateRoles struct{}

// GetClaims maps a verified client certificate to its role. A certificate with no role, or
// with two, authenticates but is allowed nothing beyond health checks.
func (certificateRoles) GetClaims(info *authorization.AuthInfo) (*authorization.Claims, error) {
	if info == nil || info.TLSSubject == nil {
		return nil, fmt.Errorf("no client certificate")
	}
	var found []role
	for _, ou := range info.TLSSubject.OrganizationalUnit {
		if _, ok := temporalRole[role(ou)]; ok {
			found = append(found, role(ou))
		}
	}
	claims := &authorization.Claims{Subject: info.TLSSubject.CommonName}
	if len(found) == 1 {
		claims.System = temporalRole[found[0]]
		claims.Extensions = found[0]
	}
	return claims, nil
}

// Calls only the engine makes: taking and answering tasks, and changing how its activities run.
var workerOnly = setOf(
	"PollWorkflowTaskQueue", "RespondWorkflowTaskCompleted", "RespondWorkflowTaskFailed",
	"PollActivityTaskQueue", "RecordActivityTaskHeartbeat", "RecordActivityTaskHeartbeatById",
	"RespondActivityTaskCompleted", "RespondActivityTaskCompletedById",
	"RespondActivityTaskFailed", "RespondActivityTaskFailedById",
	"RespondActivityTaskCanceled", "RespondActivityTaskCanceledById",
	"RespondQueryTaskCompleted", "ResetStickyTaskQueue", "ShutdownWorker", "RecordWorkerHeartbeat",
	"PollNexusTaskQueue", "RespondNexusTaskCompleted", "RespondNexusTaskFailed",
	"UpdateActivityOptions", "PauseActivity", "UnpauseActivity", "ResetActivity",
)

// The writes an operator makes; reads are allowed to every role.
var operatorWrites = setOf(
	"StartWorkflowExecution", "SignalWorkflowExecution", "SignalWithStartWorkflowExecution",
	"UpdateWorkflowExecution", "ExecuteMultiOperation", "RequestCancelWorkflowExecution",
	"CreateSchedule", "UpdateSchedule", "PatchSchedule", "DeleteSchedule",
)

// What the engine may do to its own environment locks by id (its workflows do the rest
// through their commands, which no caller sees).
var workerLockWrites = setOf(
	"SignalWorkflowExecution", "SignalWithStartWorkflowExecution",
	"RequestCancelWorkflowExecution", "TerminateWorkflowExecution",
)

// Reads any authenticated caller may make whatever its role: the frontend's health checks.
var anyone = setOf("GetSystemInfo", "GetClusterInfo")

type roleAuthorizer struct{}

func (roleAuthorizer) Authorize(_ context.Context, claims *authorization.Claims, target *authorization.CallTarget) (authorization.Result, error) {
	return decide(claims, target), nil
}

func allow() authorization.Result { return authorization.Result{Decision: authorization.DecisionAllow} }

func deny(format string, args ...any) authorization.Result {
	return authorization.Result{Decision: authorization.DecisionDeny, Reason: fmt.Sprintf(format, args...)}
}

func decide(claims *authorization.Claims, target *authorization.CallTarget) authorization.Result {
	if claims == nil {
		return deny("no client certificate")
	}
	method := api.MethodName(target.APIName)
	if authorization.IsHealthCheckAPI(target.APIName) || anyone[method] {
		return allow()
	}
	who, _ := claims.Extensions.(role)
	if who == "" {
		return deny("certificate %q has no role (its subject needs one OU of worker, operator, admin)", claims.Subject)
	}
	if who == roleSystem {
		return allow()
	}
	service := api.ServiceName(target.APIName)
	known := service == api.WorkflowServicePrefix || service == api.OperatorServicePrefix
	if known && api.GetMethodMetadata(target.APIName).Access == api.AccessReadOnly {
		return allow()
	}
	if id := lockTouched(target.Request); id != "" && !(who == roleWorker && workerLockWrites[method]) {
		return deny("%s on %s: only the engine acts on environment locks; %s is %s", method, id, claims.Subject, who)
	}
	inWorkflowService := service == api.WorkflowServicePrefix
	switch {
	case workerOnly[method] && inWorkflowService:
		if who == roleWorker {
			return allow()
		}
		return deny("%s is the engine's (a worker certificate); %s is %s", method, claims.Subject, who)
	case who == roleAdmin:
		return allow()
	case who == roleOperator && operatorWrites[method] && inWorkflowService:
		return allow()
	case who == roleWorker && workerLockWrites[method] && inWorkflowService && lockTouched(target.Request) != "":
		return allow()
	}
	if operatorWrites[method] {
		return deny("%s is an operator's call; %s is %s", method, claims.Subject, who)
	}
	return deny("%s needs an admin certificate; %s is %s", method, claims.Subject, who)
}

// The environment-lock workflow id a request acts on by id, if any ("" when none).
func lockTouched(request any) string {
	var ids []string
	switch r := request.(type) {
	case *workflowservice.StartWorkflowExecutionRequest:
		ids = append(ids, r.GetWorkflowId())
	case *workflowservice.SignalWithStartWorkflowExecutionRequest:
		ids = append(ids, r.GetWorkflowId())
	case *workflowservice.ExecuteMultiOperationRequest:
		for _, op := range r.GetOperations() {
			ids = append(ids, op.GetStartWorkflow().GetWorkflowId(), op.GetUpdateWorkflow().GetWorkflowExecution().GetWorkflowId())
		}
	case *workflowservice.CreateScheduleRequest:
		ids = append(ids, r.GetSchedule().GetAction().GetStartWorkflow().GetWorkflowId())
	case *workflowservice.UpdateScheduleRequest:
		ids = append(ids, r.GetSchedule().GetAction().GetStartWorkflow().GetWorkflowId())
	case interface {
		GetWorkflowExecution() *commonpb.WorkflowExecution
	}:
		ids = append(ids, r.GetWorkflowExecution().GetWorkflowId())
	}
	for _, id := range ids {
		if strings.HasPrefix(id, lockPrefix) {
			return id
		}
	}
	return ""
}

func setOf(names ...string) map[string]bool {
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	return set
}
