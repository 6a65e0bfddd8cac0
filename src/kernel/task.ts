import type { Clock } from '../hypervisor/clock.js';

/**
 * FreeBSD's struct task on a fast taskqueue: work a filter schedules from interrupt
 * context. Enqueueing a task that is already pending does nothing (taskqueue_enqueue
 * counts it, runs it once), so however often the event fires before the task runs,
 * it runs once, and whatever the events announced is all there when it does.
 */
export class Task {
  private pending = false;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  enqueue(): void {
    if (this.pending) return;
    this.pending = true;
    this.clock.defer(() => {
      this.pending = false;
      this.fn();
    });
  }
}
