import * as pulumi from "@pulumi/pulumi";
import { execFile } from "child_process";
import { runningCli } from "./running-cli";

/** One update in `pulumi stack history --json` (the fields l9-deploy reads). */
export interface HistoryEntry {
    /** update, refresh, destroy, ... */
    readonly kind: string;
    /** succeeded, failed, in-progress. */
    readonly result: string;
    /** ISO time the update started. */
    readonly startTime: string;
    /** The stack's config as that update ran with it; secret values are left out. */
    readonly config?: Readonly<Record<string, { readonly value?: string; readonly secret?: boolean }>>;
    /** The CLI's facts about where it ran: git.author, git.head, git.dirty, ci.system, ... */
    readonly environment?: Readonly<Record<string, string>>;
}

/** One page of the stack's updates, newest first, as `pulumi stack history` lists them. */
function readHistoryPage(page: number, pageSize: number): Promise<HistoryEntry[]> {
    const stack = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const args = ["stack", "history", "--stack", stack, "--json", "--page-size", String(pageSize), "--page", String(page), "--non-interactive"];
    return new Promise((resolve, reject) => {
        execFile(runningCli().exe, args, { timeout: 60_000, maxBuffer: 64 * 1024 * 1024, env: process.env }, (error, stdout, stderr) => {
            if (error) return reject(new Error(`pulumi stack history failed: ${(stderr || error.message).trim().split("\n").slice(-3).join(" ")}`));
            try {
                const parsed: unknown = JSON.parse(stdout || "[]");
                if (!Array.isArray(parsed)) throw new Error("not a list");
                resolve(parsed as HistoryEntry[]);
            } catch (e) {
                reject(new Error(`pulumi stack history printed no readable JSON: ${(e as Error).message}`));
            }
        });
    });
}

/**
 * The stack's newest updates, newest first, page after page until `enough` says so or the
 * history ends (`complete`). Read-only: it takes no lock, so it runs beside the update that
 * holds the stack's lock.
 */
export async function readStackHistory(
    enough: (entries: HistoryEntry[]) => boolean,
    pageSize = 100,
    maxPages = 10,
): Promise<{ entries: HistoryEntry[]; complete: boolean }> {
    const entries: HistoryEntry[] = [];
    for (let page = 1; page <= maxPages; page++) {
        const read = await readHistoryPage(page, pageSize);
        entries.push(...read);
        if (read.length < pageSize) return { entries, complete: true };
        if (enough(entries)) break;
    }
    return { entries, complete: false };
}
