/** The line of the job summary about the copy on the runner (light: main.ts uses it without the publishing clients). */
import type { Destination } from '../action/report.js';

export function localCopy(path: string, alsoStored: boolean): Destination {
  return {
    kind: 'local',
    description: alsoStored
      ? `Also kept on the runner at \`${path}\``
      : `Kept only on the runner at \`${path}\` (destination: none): store it in a later step, ` +
        'the disk of a GitHub-hosted runner is discarded after the job',
  };
}
