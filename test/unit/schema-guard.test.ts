import { expect } from "chai";
import { parseConfig } from "../../config/load";
import { schemaGuardNote } from "../../plan/rollout";
import { renderSchemaGuardScript, SchemaGuardScriptArgs } from "../../host-scripts/schema-guard";
import { planRelease } from "../../state/slot-machine";
import { SECRETS, validRawConfig } from "./fixtures";

const v1 = { tag: "v0.1.0-l9", envFingerprint: "e", networkMode: "bridge" as const };
const v2 = { ...v1, tag: "v0.2.0-l9" };
/** blue serves v0.2.0-l9, green keeps v0.1.0-l9 warm. */
const serving = { active: "blue" as const, slots: { blue: v2, green: v1 } };

describe("unit: the schema guard (a rollback that knows the schema)", () => {
    const config = (raw: Record<string, string>) => parseConfig(validRawConfig({ releaseTag: "v0.1.0-l9", ...raw }), SECRETS);
    const revision = { schemaRevisionCommand: JSON.stringify(["alembic", "current"]) };

    it("the preview says a switch back is checked, refused when the revisions differ, or decided by rollbackCheck", () => {
        const back = [planRelease(serving, v1)];
        expect(back[0].transition).to.equal("switch-to-standby");
        expect(schemaGuardNote(config(revision), back)).to.contain("if they differ, the switch is refused");
        expect(schemaGuardNote(config({ ...revision, rollbackCheck: JSON.stringify(["app", "check"]) }), back)).to.contain("rollbackCheck decides");
        expect(schemaGuardNote(config({ ...revision, allowSchemaRollback: "true" }), back)).to.contain(
            "Remove it after this update: pulumi config rm allowSchemaRollback",
        );
    });

    it("the preview says nothing of the schema for a new release, an unchanged one, or without schemaRevisionCommand", () => {
        expect(schemaGuardNote(config(revision), [planRelease(serving, { ...v1, tag: "v0.3.0-l9" })])).to.equal(undefined);
        expect(schemaGuardNote(config(revision), [planRelease(serving, v2)])).to.equal(undefined);
        expect(schemaGuardNote(config({}), [planRelease(serving, v1)])).to.equal(undefined);
    });

    const args: SchemaGuardScriptArgs = {
        appDir: "/opt/l9",
        serviceName: "l9",
        tag: "v0.1.0-l9",
        revisionArgs: ["alembic", "current"],
        allowRollback: false,
        networkMode: "bridge",
        containerName: "l9-green",
        liveContainerName: "l9-blue",
        backups: false,
        notify: { stack: "p/s", service: "l9", tag: "v0.1.0-l9", actor: "ops", appDir: "/opt/l9", metricsDir: "/m" },
        hookTimeoutSeconds: 600,
        stepLockWaitSeconds: 900,
    };

    it("refuses unless told otherwise: without rollbackCheck or allowSchemaRollback a differing revision fails the step", () => {
        const text = renderSchemaGuardScript(args);
        expect(text).to.contain(`hook_fail schema 'refused: the database is at schema revision '"$live_revision"`);
        expect(text).to.not.contain("rollback-check");
        // allowSchemaRollback: a warning in place of the refusal, and no check runs.
        const allowed = renderSchemaGuardScript({ ...args, allowRollback: true, rollbackCheckArgs: ["app", "check"] });
        expect(allowed).to.not.contain("refused:");
        expect(allowed).to.not.contain("one_off rollback-check");
        expect(allowed).to.contain("allowSchemaRollback=true: it takes traffic unchecked");
    });

    it("on a first deploy (no serving container) only records; a hook bound that is not a positive integer is refused", () => {
        const first = renderSchemaGuardScript({ ...args, liveContainerName: undefined });
        expect(first).to.contain(`'/opt/l9/state/schema-revision.'"\${image#sha256:}"`);
        expect(first).to.not.contain("live_image");
        expect(first).to.contain("returns to traffic with no serving container to read the revision with: not checked");
        expect(() => renderSchemaGuardScript({ ...args, hookTimeoutSeconds: 0 })).to.throw(/positive integer/);
    });
});
