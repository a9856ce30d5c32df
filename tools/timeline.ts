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
    /** First resource step (components excluded): the language host and the program are up. */
    firstStepMs: number;
    /** End of the last resource step; the rest until `totalMs` is the engine finishing. */
    lastStepEndMs: number;
    /** How many resources were refreshed (Pulumi.yaml `refresh: always`, interleaved with the program). */
    refreshSteps: number;
    /** Every resource step (components excluded), in start order. */
    steps: StepTiming[];
}

function urnName(urn: string): string {
    return urn.split("::").pop() ?? urn;
}

/** Component resources span their children: they say nothing of where time went. */
function isComponent(type: string): boolean {
    return type.startsWith("l9:") || type === "pulumi:pulumi:Stack";
}

/** Pairs each resource's pre-event with its outcome event. Pure. */
export function buildTimeline(events: TimedEvent[], totalMs: number): Timeline {
    const open = new Map<string, { start: number; op: string; type: string }>();
    const steps: StepTiming[] = [];
    for (const { at, event } of events) {
        const pre = event.resourcePreEvent?.metadata;
        const done = event.resOutputsEvent?.metadata ?? event.resOpFailedEvent?.metadata;
        if (pre && !isComponent(pre.type)) open.set(`${pre.op} ${pre.urn}`, { start: at, op: pre.op, type: pre.type });
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
    const engineReadyMs = events.length > 0 ? events[0].at : totalMs;
    return {
        totalMs,
        engineReadyMs,
        firstStepMs: steps.length ? steps[0].start : engineReadyMs,
        lastStepEndMs: steps.length ? Math.max(...steps.map((x) => x.end)) : engineReadyMs,
        refreshSteps: steps.filter((x) => x.op === "refresh").length,
        steps,
    };
}

/** The duration of the first step (not its refresh) whose name matches, in ms (0 when absent). */
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
