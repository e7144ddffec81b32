// String hashing for sticky decisions: a routing key's canary bucket, a flight's feedback share.
// The values decide who sees which model, so they must never change; tests pin them.

/** 32-bit FNV-1a of a string's UTF-16 code units, as an unsigned integer. */
export function fnv1a32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** `fnv1a32(key)` as a fraction of 2^32, in [0, 1): the same key always lands in the same place. */
export function unitHash(key: string): number {
  return fnv1a32(key) / 2 ** 32;
}
