// The signed decisions waiting at one gate for the worker to check their signatures. Anyone who
// can reach Temporal can send signed-looking decisions in an approver's name, and each check is
// work in the run's history; yet junk in a person's name must never keep that person from
// deciding. So no decision is refused for how many came before it: every one that waits is
// checked, in batches (one activity checks all that wait, up to a batch), and after a batch
// that held a bad signature the next one waits longer (doubling, up to a cap). A flood then
// costs the history a few activities for each minute it lasts, not one for each decision sent,
// and a genuine decision sent during it is checked at the next batch. The wait is cut short so
// that every decision waiting is checked before the gate's deadline.
import { condition } from '@temporalio/workflow';
import type * as activities from '../../activities';
import { stepActivities } from './activities';
import { claimOf, proofOf, type DecisionToProve, type Proof, type Verified } from './identity';

/** Decisions checked by one activity at most; a signed decision is ~6 kB at most, so a batch stays small. */
export const MAX_BATCH = 50;
/** The first pause after a batch that held a bad signature; it doubles with each such batch in a row. */
export const FIRST_PAUSE_MS = 1000;
/** The longest pause between batches: what a genuine decision waits at most during a flood. */
export const MAX_PAUSE_MS = 8000;

const { verifySignatures } = stepActivities<typeof activities>({
  // A batch is a few dozen runs of ssh-keygen; retried briefly, then its decisions are refused, not the run.
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumAttempts: 3 },
});

interface Waiting {
  decision: DecisionToProve;
  settle: (proof: Proof) => void;
}

export class SignatureChecks {
  private readonly waiting: Waiting[] = [];
  private checking = false;
  private pauseMs = 0;

  /**
   * @param isOpen whether the gate is still open: once it closes, what waits is refused unchecked.
   * @param deadline when the gate closes on its own (ms since the epoch).
   */
  constructor(
    private readonly isOpen: () => boolean,
    private readonly deadline: number,
    private readonly label: string,
  ) {}

  /** The decision's proof, once its batch has been checked. */
  check(decision: DecisionToProve): Promise<Proof> {
    return new Promise((settle) => {
      this.waiting.push({ decision, settle });
      if (!this.checking) void this.checkAll();
    });
  }

  private async checkAll(): Promise<void> {
    this.checking = true;
    try {
      while (this.waiting.length) {
        if (this.pauseMs) await condition(() => !this.isOpen(), this.pause());
        if (!this.isOpen()) {
          const refused = `${this.label} closed before the signature was checked`;
          for (const w of this.waiting.splice(0)) w.settle({ refused });
          return;
        }
        const batch = this.waiting.splice(0, MAX_BATCH);
        const proofs = await this.checkBatch(batch.map((w) => w.decision));
        batch.forEach((w, i) => w.settle(proofs[i]));
        const bad = proofs.some((p) => 'refused' in p);
        this.pauseMs = bad ? Math.min(Math.max(this.pauseMs * 2, FIRST_PAUSE_MS), MAX_PAUSE_MS) : 0;
      }
    } finally {
      this.checking = false;
    }
  }

  /** The pause before the next batch, short enough that every batch still waiting fits before the deadline. */
  private pause(): number {
    const batches = Math.ceil(this.waiting.length / MAX_BATCH);
    const fits = Math.floor((this.deadline - Date.now()) / (batches + 1));
    return Math.max(1, Math.min(this.pauseMs, fits));
  }

  private async checkBatch(decisions: DecisionToProve[]): Promise<Proof[]> {
    const requests = decisions.map((d) => ({ claim: claimOf(d), signature: String(d.signature) }));
    try {
      const checked: { verdicts: Verified[] } | Verified[] = await verifySignatures({ requests });
      // Runs recorded before the verdicts were sealed got a bare list.
      const verdicts = Array.isArray(checked) ? checked : checked.verdicts;
      return decisions.map((d, i) => proofOf(verdicts[i], d.action));
    } catch (err) {
      const refused = `the signature could not be checked: ${(err as Error).message}`;
      return decisions.map(() => ({ refused }));
    }
  }
}
