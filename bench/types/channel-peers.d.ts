// The peers measured by bench/channels.ts ship no types.
declare module 'chan';
declare module 'js-csp';
