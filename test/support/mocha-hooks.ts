import { LoadLoop } from "./load-loop";

/**
 * Root hooks of every mocha run (.mocharc.json). A test that fails between starting a load
 * loop and stopping it would leave the loop running, and mocha would not exit until the
 * loop's own limit (up to 15 minutes) ran out.
 */
export const mochaHooks = {
    async afterEach(): Promise<void> {
        await LoadLoop.stopAll();
    },
};
