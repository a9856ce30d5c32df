import { Color } from "../state/slot-machine";
import { renderRoutedSlotLine, renderStandaloneServerPresentLines } from "./caddy";
import { greenMarkerFile } from "./routing";
import { caddyMarkerDir } from "./layout";
import { prologue, script, sh } from "./shell";

export interface UnfinishedContainerArgs {
    serviceName: string;
    /** Caddy's admin API address. */
    caddyAdmin: string;
    color: Color;
}

/**
 * Removes the slot container a killed `pulumi up` was creating (`npm run recover`): its
 * create is cleared from the state, so the container is no resource's, and the next update's
 * create of the slot would fail on its name. Such a container never served: the slot guard
 * refuses to replace the one Caddy routes to, and traffic moves only after a create that
 * finished. The routing marker is read all the same: a routed container is never removed.
 */
export function renderRemoveUnfinishedContainerScript(a: UnfinishedContainerArgs): string {
    const name = `${a.serviceName}-${a.color}`;
    return script(
        prologue(`recover ${name}`),
        renderStandaloneServerPresentLines(a.caddyAdmin, a.serviceName),
        renderRoutedSlotLine(greenMarkerFile(caddyMarkerDir(a.serviceName), a.serviceName), "routing"),
        sh`if [ "$caddy_server" = yes ] && [ "$routing" = ${a.color} ]; then fail ${
            `Caddy routes to ${a.color}: ${name} is kept. ` +
            `Nothing was changed; report this with the output of: docker ps -a; ls ${caddyMarkerDir(a.serviceName)}`
        }; fi`,
        sh`if ! docker inspect -f '{{.Id}}' ${name} >/dev/null 2>&1; then say ${`${name} is not on the host: nothing to remove`}; exit 0; fi`,
        sh`docker rm -f ${name} >/dev/null || fail ${`cannot remove ${name}`}`,
        sh`say ${`removed ${name}: the interrupted update was creating it, and Caddy does not route to it`}`,
    );
}
