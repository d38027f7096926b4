/**
 * Where a backup went, as the job summary lists it; and the line about the copy on the runner (light:
 * action/main.ts uses it without the publishing clients).
 */
export interface Destination {
  kind: 'artifact' | 'branch' | 's3' | 'local';
  description: string;
  url?: string;
}


export function localCopy(path: string, alsoStored: boolean): Destination {
  return {
    kind: 'local',
    description: alsoStored
      ? `Also kept on the runner at \`${path}\``
      : `Kept only on the runner at \`${path}\` (destination: none): store it in a later step, ` +
        'the disk of a GitHub-hosted runner is discarded after the job',
  };
}
