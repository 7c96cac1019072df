// What a run tells people, as the run writes it (workflow-safe: types and names only). The
// worker turns a notice into each target's format (activities/notice-format.ts) and sends it
// from a workflow of its own (workflows/kernel/notice.ts), so delivery never holds a run.
import type { IdentityMode } from './signed-message';

/** Every event an operator acts on. The inventory's `notify[].events` picks among them. */
export const NOTICE_EVENTS = [
  'approval_gate_opened',
  'failure_gate_opened',
  'run_completed',
  'run_compensated',
  'run_failed_compensation',
  'run_settled_then_failed',
  'step_rerun_after_lost_worker',
  'run_cut_off',
] as const;
export type NoticeEvent = (typeof NOTICE_EVENTS)[number];

/** The formats a target takes: a JSON object, a Slack incoming webhook, a Teams workflow webhook. */
export const NOTICE_FORMATS = ['json', 'slack', 'teams'] as const;
export type NoticeFormat = (typeof NOTICE_FORMATS)[number];

export interface Notice {
  /** Unique per event of a run: a receiver may drop a repeat (a delivery retried after a timeout). */
  id: string;
  event: NoticeEvent;
  runId: string;
  runbook: string;
  env: string;
  initiator: string;
  /** When the event happened (ISO 8601). */
  at: string;
  /** How the run takes decisions (typed or signed), for the commands it names. */
  identity?: IdentityMode;
  step?: string;
  host?: string;
  error?: string;
  gate?: string;
  required?: number;
  approvers?: string[];
  deadline?: string;
  skippable?: boolean;
  reason?: string;
  leftToUndo?: string[];
  /** SETTLED_THEN_FAILED: what stands, and what a person must do. */
  stands?: string;
  todo?: string[];
  /** A lost worker's step: how many times it has been run again. */
  reruns?: number;
}

/** A notice's delivery to one target: which one (the secret holding its URL), and what became of it. */
export interface NoticeDelivery {
  target: string;
  format: NoticeFormat;
  outcome: 'sent' | 'failed';
  error?: string;
}
