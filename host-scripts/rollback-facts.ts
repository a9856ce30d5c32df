import { Color, COLORS } from "../state/slot-machine";
import { isReleaseTagName } from "../config/schema";
import { JournalRecord, parseJournalRecord } from "./journal";
import { KeptImage, parseKeptReleases, renderKeptReleasesLines } from "./kept-releases";
import { hostLayout } from "./layout";
import { script, sh } from "./shell";

/** What `npm run rollback` reads from one host (renderRollbackFactsScript). */
export interface RollbackFacts {
    /** Releases whose image the host keeps, newest build first. */
    kept: KeptImage[];
    /** The journal's last records, oldest first (the file's order). */
    journal: JournalRecord[];
    /** The record of the deploy that serves now, if the host has one. */
    active?: JournalRecord;
    /** The release tag of each slot's container (absent: no container, or no tag label). */
    slots: Partial<Record<Color, string>>;
}

/** How many journal lines are read: enough for a long history, bounded for the SSH session. */
export const JOURNAL_LINES_READ = 1000;

/** A slot container's `l9.tag` label; docker prints `<no value>` for a missing one, which no tag check accepts. */
const SLOT_TAG_FORMAT = '{{index .Config.Labels "l9.tag"}}';

/**
 * Read-only: what a rollback is planned from. The kept releases (`kept=`, renderKeptReleasesLines),
 * the journal's last lines (`journal=<json>`), the record of the deploy that serves
 * (`active=<json>`, on one line) and each slot container's release tag (`slot=<color> <tag>`;
 * a missing container prints nothing). Never fails: what is missing on the host prints nothing.
 */
export function renderRollbackFactsScript(a: { appDir: string; serviceName: string }): string {
    const l = hostLayout(a.appDir);
    return script(
        renderKeptReleasesLines(a),
        sh`tail -n ${JOURNAL_LINES_READ} ${l.deployLog} 2>/dev/null | sed 's/^/journal=/'`,
        // stderr is redirected before the input, so a missing record prints no error.
        sh`printf 'active=%s\\n' "$(tr -d '\\n' 2>/dev/null <${l.activeRecord})"`,
        COLORS.map((c) => sh`docker inspect --type container -f ${SLOT_TAG_FORMAT} ${`${a.serviceName}-${c}`} 2>/dev/null | sed ${`s/^/slot=${c} /`}`),
    );
}

/** Reads renderRollbackFactsScript's output back, skipping every line that does not parse. */
export function parseRollbackFacts(text: string): RollbackFacts {
    const facts: RollbackFacts = { kept: parseKeptReleases(text), journal: [], slots: {} };
    for (const line of text.split("\n")) {
        const at = line.indexOf("=");
        if (at <= 0) continue;
        const key = line.slice(0, at);
        const value = line.slice(at + 1).trim();
        if (key === "journal") {
            const record = parseJournalRecord(value);
            if (record) facts.journal.push(record);
        } else if (key === "active") {
            const record = parseJournalRecord(value);
            if (record) facts.active = record;
        } else if (key === "slot") {
            const space = value.indexOf(" ");
            const color = COLORS.find((c) => c === value.slice(0, space));
            const tag = value.slice(space + 1);
            if (space > 0 && color && isReleaseTagName(tag)) facts.slots[color] = tag;
        }
    }
    return facts;
}
