import { EngineEvent } from "@pulumi/pulumi/automation";

/** An engine event and when this process received it (ms since the operation started). */
export interface TimedEvent {
    at: number;
    event: EngineEvent;
}

/** One resource step: what the engine did to it, and from when to when (ms since the start). */
export interface StepTiming {
    /** The resource's name (last URN segment) and type. */
    name: string;
    type: string;
    /** The engine's op: refresh, same, create, update, replace, delete... */
    op: string;
    start: number;
    end: number;
}

/** Where one operation spent its time (ms since the operation started). */
export interface Timeline {
    /** The whole operation, start to the CLI's exit. */
    totalMs: number;
    /** First engine event: the CLI, plugins and backend are up. */
    engineReadyMs: number;
    /** The refresh pass (`refresh: always`): first to last refresh step, 0 when none. */
    refreshMs: number;
    /** From the end of the refresh (or the first event) to the program's first registration. */
    programStartMs: number;
    /** Every resource step, in start order. */
    steps: StepTiming[];
}

function urnName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** Pairs each resource's pre-event with its outcome event and splits the run into phases. Pure. */
export function buildTimeline(events: TimedEvent[], totalMs: number): Timeline {
    const open = new Map<string, { start: number; op: string; type: string }>();
    const steps: StepTiming[] = [];
    for (const { at, event } of events) {
        const pre = event.resourcePreEvent?.metadata;
        const done = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
        if (pre) open.set(`${pre.op} ${pre.urn}`, { start: at, op: pre.op, type: pre.type });
        if (done) {
            const key = `${done.op} ${done.urn}`;
            const started = open.get(key);
            if (started) {
                steps.push({ name: urnName(done.urn), type: started.type, op: started.op, start: started.start, end: at });
                open.delete(key);
            }
        }
    }
    steps.sort((a, b) => a.start - b.start);
    const refresh = steps.filter((s) => s.op === "refresh");
    const engineReadyMs = events.length > 0 ? events[0].at : totalMs;
    const refreshStart = refresh.length ? Math.min(...refresh.map((s) => s.start)) : engineReadyMs;
    const refreshEnd = refresh.length ? Math.max(...refresh.map((s) => s.end)) : engineReadyMs;
    const program = steps.filter((s) => s.op !== "refresh");
    const firstRegistration = program.length ? program[0].start : refreshEnd;
    return {
        totalMs,
        engineReadyMs,
        refreshMs: refreshEnd - refreshStart,
        programStartMs: Math.max(0, firstRegistration - refreshEnd),
        steps,
    };
}

/** The duration of the first step whose name matches, in ms (0 when absent). */
export function stepDuration(t: Timeline, name: RegExp): number {
    const s = t.steps.find((x) => name.test(x.name) && x.op !== "refresh");
    return s ? s.end - s.start : 0;
}

/** The slowest steps of an operation, as "name (op) 1.2 s" strings. */
export function slowestSteps(t: Timeline, n: number): string[] {
    return [...t.steps]
        .sort((a, b) => b.end - b.start - (a.end - a.start))
        .slice(0, n)
        .map((s) => `${s.name} (${s.op}) ${((s.end - s.start) / 1000).toFixed(1)} s`);
}
