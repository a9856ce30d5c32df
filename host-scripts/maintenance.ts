import { renderSetMarkerLine } from "./caddy";
import { maintenanceMarkerFile, maintenanceMessageFile } from "./routing";
import { caddyMarkerDir } from "./layout";
import { prologue, script, sh } from "./shell";

export interface MaintenanceScriptArgs {
    /** Service name (marker and message file names). */
    serviceName: string;
    /** Whether the service answers 503 (all but the allowed paths). */
    enabled: boolean;
    /** The body of the 503. */
    message: string;
}

/**
 * Turns maintenance mode on or off: writes the message file (world-readable: Caddy serves
 * it) and creates or removes the marker Caddy's maintenance route matches on. Both are files
 * read per request, so no Caddy reload happens and the state survives a Caddy restart.
 */
export function renderMaintenanceScript(a: MaintenanceScriptArgs): string {
    const dir = caddyMarkerDir(a.serviceName);
    const marker = maintenanceMarkerFile(dir, a.serviceName);
    const message = maintenanceMessageFile(dir, a.serviceName);
    return script(
        prologue(`maintenance ${a.enabled ? "on" : "off"}`),
        sh`[ -d ${dir} ] || fail ${`${dir} is missing: the service's place on the host is not prepared`}`,
        sh`{ tmp=${message}.$$ && printf '%s\\n' ${a.message} >"$tmp" && chmod 644 "$tmp" && mv -f "$tmp" ${message}; } || fail ${`cannot write ${message}`}`,
        a.enabled ? renderSetMarkerLine(marker) : sh`rm -f ${marker} || fail ${`cannot remove ${marker}`}`,
        a.enabled ? sh`say "on: requests outside the allowed paths get 503"` : sh`say "off: traffic is served"`,
        sh`echo ${a.enabled ? "on" : "off"}`,
    );
}

/** The delete of renderMaintenanceScript: no marker, no message. */
export function renderRemoveMaintenanceScript(serviceName: string): string {
    const dir = caddyMarkerDir(serviceName);
    return script(sh`rm -f ${maintenanceMarkerFile(dir, serviceName)} ${maintenanceMessageFile(dir, serviceName)}`);
}
