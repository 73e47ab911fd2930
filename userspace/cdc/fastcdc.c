// SPDX-License-Identifier: GPL-2.0
/*
 * FastCDC content-defined chunker; see fastcdc.h for the API.
 *
 * Everything here that decides where a cut falls (the gear table, the
 * masks, the window warm-up, which length is tested with which mask) is
 * part of the on-disk and wire format: dgfsd and the client must cut the
 * same bytes the same way, or client-side dedup stops finding chunks.
 * tests/unit/test_fastcdc.c pins it with known answers; change any of it
 * only together with a format version bump.
 *
 * The cut rule, for a chunk whose byte i (0-based) has just been hashed,
 * L = i + 1 being the chunk length if a cut were made after it:
 *
 *	L <  min - 64		byte not hashed at all (cut-point skipping)
 *	L <  min		hashed, never a cut
 *	L <  avg		cut if (fp & mask_small) == 0
 *	L <  max		cut if (fp & mask_large) == 0
 *	L == max		cut
 *
 * fp = (fp << 1) + gear[byte] shifts each byte's contribution one bit left
 * per later byte, so after 64 bytes it has left the word: fp is a function
 * of the last 64 bytes only. Starting from fp = 0 at byte min - 64 therefore
 * gives, from L = min on, exactly the fingerprint a full hash of the chunk
 * would give, without reading the first min - 64 bytes. fp is reset at
 * every cut, so it never sees bytes of the previous chunk, and the state
 * between fastcdc_feed() calls is just (fp, len): the cuts do not depend
 * on how the input is split into calls.
 *
 * A run of one byte value b drives fp to the fixed point -gear[b] (mod
 * 2^64). For b = 0 that is 0xc3621495..., whose bit 63 is set, and bit 63
 * is in every mask (see fastcdc_mask()): all-zero data, the commonest run
 * (sparse files, zeroed images), is cut at max_size, never before.
 */

#include "fastcdc.h"

/*
 * The gear table: 256 outputs of splitmix64 (Steele, Lea, Flood; the
 * constants are the published ones) seeded with 0x6467667366617374, the
 * ASCII bytes of "dgfsfast". Kept as a literal rather than generated at
 * start-up so that no initialisation order or thread can observe it
 * half-built; the unit test regenerates it from the seed to catch a typo.
 * splitmix64 outputs are well mixed in every bit, which is what the masks
 * need: each mask bit must be about equally likely 0 or 1.
 */
static const uint64_t fastcdc_gear[256] = {
	0x3c9deb6aa2d66ff0, 0x5e4cc5bfee45dc9e, 0x5089feb5a4deed86,
	0xd2085e486cacceb1, 0x90e8aecd11365c13, 0x7086b6742653cb79,
	0xbe5d32064bde1bbc, 0x3db23f95af59a663, 0xd6bb67542184fd30,
	0x5122a944a8811a51, 0x97cf3344163d51d8, 0xa6a76761ac63cf3f,
	0x1c527640aad6c4af, 0x52f7dc0de4e79e8f, 0x864aacb3abcbf486,
	0xeac86f4b3ec2eb14, 0x8e37c9e707ac1151, 0xcc00cf4eea0f1ce8,
	0x4cd25906267a616d, 0x6910076a824d5c89, 0xbdbc4da63197f99e,
	0xdce5f18da2eaedb5, 0xa9b229ea558f3ae3, 0x65454d5553cf1d6c,
	0x7c5035367803c8ec, 0x76c19facec349bd9, 0x087b9eb35240435f,
	0x89897f74e9bc5224, 0x3e37b734bc820af4, 0xe1953f544f28c815,
	0x933fddc85820e87f, 0xc1ead3895836ed2a, 0x02ec22b04aab84b0,
	0xb5e55fdff681aa84, 0x7fabf476bbc21526, 0x088bcdd5df1354bc,
	0xed18b06e9c188289, 0x2ee8e2541a3228d0, 0x33eaf3805f1ef1a6,
	0xc9af1a6f67f2addf, 0x25b99f1cfdac87ee, 0xa67021de3fa0f6d2,
	0x582bfea89d9e6c4a, 0xff521ee17365fead, 0x57a87299e33a4e98,
	0x8a019a1a24d6a72c, 0x7984acc0ab0e7eaa, 0x75a891890c7c6f55,
	0x88382c7d8b4c0d22, 0x8c1078c7041d0633, 0x2fafc452885d5877,
	0xb930e999284f8cef, 0x9f74b9bee507fbbd, 0x78192adfba3e68af,
	0xa34f40cf746c2d7d, 0x0f440d08e4f0dabd, 0xcbb3becf5f2635ad,
	0x613ea8cd806992b1, 0x4e5cc7c01729f9f2, 0x5add3203d15c7fe0,
	0xcaa724a1572af64a, 0xc7526891039a24ad, 0x1eb8e5ceeaebcbd3,
	0x6537800332904f3f, 0xa0511dd1874fcb69, 0xdd14965e7e49dccc,
	0x70a54183da1b117e, 0x1798fc981bec6b57, 0x3169e65d16d93498,
	0x2574117070e73def, 0xb1634a0400562135, 0x107bb4cb48de086a,
	0x0c0bb988bf06a40b, 0x9eed04a2ba5ae593, 0x50e8d85d8769822a,
	0x42083abb7cb88cbc, 0x511e1f4886e3ccb2, 0x2952faae68e6d8a7,
	0xa4c91c6c9fca693a, 0x6f78f58773b7505a, 0xf8c50e025b6d4f65,
	0x25c7346ec3f5bae1, 0xe4233d9bc504fe64, 0xce67abc61a70cceb,
	0x068efdc967ddb4aa, 0x5ef5d4b6a1d523ce, 0x863512fbe848d876,
	0x880463cda8fb3ffe, 0x5c07109f16e9c6b3, 0xf6bda54e72504b89,
	0xe591be4646aa53a8, 0x084b7d3ad413ecf1, 0x1d485e45be5c43ec,
	0xb62430c8a26026d5, 0x0156cab80d30847d, 0x5972ec407b89ff18,
	0xd25554b0d0bb458e, 0xb9a29387e560b070, 0x6273ea750914022f,
	0xf137a2d82e0cd9fd, 0xbdfd58f7796979dc, 0x92a23a131278d2a0,
	0x6e7f2545de606f02, 0xfeb01ead1d0cde8e, 0x319ab196e75df47d,
	0x4d2bb64b3a36ee16, 0xaaacbcc08487b095, 0x84c2e06d3f0df999,
	0x9b583d7189bb411f, 0x7fc041c2f9c9c5de, 0xfec4c8241de1bb7e,
	0xc9b4e4eabed76939, 0x0ef070febdf0c3a3, 0xe4e30b73d23da46b,
	0xf6c7c00d5c019b81, 0x08dcb81535c83482, 0x40189978a85b3427,
	0x1780db45c4db0a91, 0x310098f23cfebb66, 0x18243d8ee337dbd0,
	0x51b0fa0955a35a35, 0x0e3b3511b37625ae, 0xcfc93f3ba796ddf3,
	0x3613c95338b4622d, 0x200e400d79bcaf5e, 0xd0de9e797ec86b03,
	0x90e2e6716f5fb105, 0x4af0b5d5bd478a6b, 0x9c4790da0ed80103,
	0xee94778374b559a1, 0x217a12992c3dd46c, 0x582c1486676821a4,
	0x8e92d7d08d5a4ac8, 0xf84af52e11653633, 0x7abbc6e179b272bc,
	0xd5bea0e19dcba50c, 0xe7b2ae7e117072f5, 0xc64a4d8122e57408,
	0x5402747b3f354eea, 0x7cb910cc33e4174e, 0xed13f3e20342e545,
	0xcc7c910f21d7dc56, 0x996a91f07d405a75, 0x0f3571eaee7f01d6,
	0xeb8bcef1ab24eecb, 0xa5fb47388d5a9038, 0xe78f971972dc582d,
	0xc0c16ebbf071c4d5, 0xb2e1664c7663963c, 0x6a231aac1d68183b,
	0x1ec2f8b4461c8643, 0x76abba5faa51b111, 0xb78bdd821e140d01,
	0x165a654085442a8d, 0xc6419b5fdd01aa2e, 0x5e64a73b1b30df5b,
	0xecb01a5356eead2b, 0x9552828d4a26c14e, 0xdbfba5399e0f8cb1,
	0x4d76de9aceeba5a0, 0x170055b2f8a306f2, 0x15d42e466fd688aa,
	0x902b29320420030e, 0x4a4b7a7860067a2d, 0x13da45a584f4d7c1,
	0x0208d07dba8517c2, 0x1a87ddf0d2c85160, 0xabf21f6fe26d9456,
	0xcd1dd0a2a86ba5b5, 0x57a731374acd31e2, 0xd9656ecaff67e2b4,
	0x68fec192f88a2971, 0x868020027f2096f4, 0x6365b7bc5fe09fb9,
	0x20a06d3c969d2372, 0xbb4bf93cd38a0b2a, 0x14f7bc969a9fee4d,
	0x3ba0626a86874b92, 0x0cd9b456d4c472ba, 0xcf00b7524e2525e2,
	0x8f82244370c220ea, 0x5e431b706945c976, 0x993072587b3399a3,
	0x740a2c96cefd39e6, 0xafaddef8c43c242d, 0xa052ff585b29f15e,
	0xd3fd6ead35851ee4, 0x9eb7e2440622a9e1, 0x4481c1d75b7e7fa1,
	0x27f7341ed6d5dd06, 0xfdf7a8aa8ac3df76, 0x453f571d063b3112,
	0x6a0a70b7381ae01f, 0x29beb18253bcacad, 0x5c215c7a140b314c,
	0xdcec8bbf00471f98, 0xc05b8c09fa4e7ced, 0x3c469e36e1b12bb2,
	0xc96e7a6a4b3fb666, 0xc4ae77633f0ac971, 0xfa13cb6cc1fe8d6a,
	0xd7dcd7285225046b, 0x1b75ce35afe4702b, 0x369968a814f1d437,
	0xd484fc6ad05ee084, 0xa8f68cbac43d93ba, 0x3b55a232be28869b,
	0xf3a739b6b5f59e23, 0x8a139db2a7f37b70, 0xe1d68b24ab973d24,
	0xd3b52931c5c400f7, 0x106166aab9f8343b, 0x613c072bb66aa69e,
	0x342d1fe6eaa28b84, 0x273eef5ae1db90a3, 0x7c08864dbcdc7e0b,
	0x5df238d68b471382, 0x487edbfc16a44a5f, 0x725cae25a2e87ff1,
	0xb2d88d5e049336a6, 0x1d59c60bfdc6a8ab, 0x95510dd8c4bbd1c2,
	0xc56d5d4dfa0f6088, 0xad9e4b2a1e65d774, 0x53f65dc84de01051,
	0x33c205153c737e43, 0x269c4e0094dbe82b, 0x304ec26edeb0feef,
	0x52753e9af0123a60, 0x4f343ee6be37c782, 0xd697d94ec63ba084,
	0xfaf12118f56677c2, 0x7ff58a87573d607a, 0x222bf9a901cfdc57,
	0xce2a2b9af1894557, 0x32aa7427c2e3853d, 0xbb884411fe3d7df6,
	0xd1d40495c3001da4, 0x409db0aeda770ffd, 0x50f8ec5068070a93,
	0x5061e885ae0466a3, 0x6d9bb6e1ddf20858, 0x4e05bb4279002eb8,
	0xe3f69aca424dfb4c, 0x463fa3d516b32efc, 0x540c4f9d4f599c32,
	0xc62ca8cb4e07eb88, 0x460b1223450c2c67, 0xeb189508d98af130,
	0x385f82e2cc530704, 0xefd2b3261bfed160, 0xad8ab6f3cdd116ad,
	0xfe27dc6189f6bdb9, 0x3000c87d4a85e02e, 0x609ef9b83294bb4f,
	0x7ada0eaf4c1a85f2,
};

const struct fastcdc_params fastcdc_default_params = {
	.min_size = FASTCDC_MIN_SIZE,
	.avg_size = FASTCDC_AVG_SIZE,
	.max_size = FASTCDC_MAX_SIZE,
};

/*
 * The largest max_size accepted. A chunk is held in memory whole by both
 * ends, and len is a uint32_t; 64 MiB bounds both comfortably.
 */
#define FASTCDC_MAX_MAX_SIZE	(64u << 20)

/* The window of the gear hash: bytes still present in fp. */
#define FASTCDC_WINDOW		64u

/*
 * A mask of @nbits one-bits spread evenly over bits 16..63 of the word,
 * the first at bit 63. Bit k of fp depends only on the last k + 1 bytes,
 * so low bits would make the cut decision look at just a few bytes and
 * repeat on short periodic data; the high bits see the whole 64-byte
 * window. Spreading them (rather than taking a contiguous top run) keeps
 * the bits less correlated with each other, as in the FastCDC paper.
 * nbits is at most 27 here (avg <= 32 MiB), so the 48 positions suffice
 * for distinct bits.
 */
static uint64_t fastcdc_mask(unsigned int nbits)
{
	uint64_t m = 0;
	unsigned int i;

	for (i = 0; i < nbits; i++)
		m |= 1ull << (63 - i * 48 / nbits);
	return m;
}

int fastcdc_init(struct fastcdc *c, const struct fastcdc_params *p)
{
	unsigned int bits;

	if (!c || !p)
		return -1;
	if (p->min_size < FASTCDC_WINDOW || p->max_size > FASTCDC_MAX_MAX_SIZE)
		return -1;
	if (!p->avg_size || (p->avg_size & (p->avg_size - 1)))
		return -1;
	if (p->min_size >= p->avg_size || p->avg_size >= p->max_size)
		return -1;

	bits = (unsigned int)__builtin_ctz(p->avg_size);
	c->p = *p;
	/*
	 * Normalized chunking, level 2: below avg a cut is 4x less likely
	 * than 1/avg per byte, from avg on 4x more likely. Sizes then
	 * cluster near avg instead of spreading out exponentially.
	 */
	c->mask_small = fastcdc_mask(bits + 2);
	c->mask_large = fastcdc_mask(bits - 2);
	fastcdc_reset(c);
	return 0;
}

void fastcdc_reset(struct fastcdc *c)
{
	c->fp = 0;
	c->len = 0;
}

/* Where in @data the current chunk reaches offset @upto (clamped to it). */
static inline const uint8_t *fastcdc_at(const uint8_t *data, size_t len, uint32_t base,
					uint32_t upto)
{
	if (upto <= base)
		return data;
	return data + ((size_t)(upto - base) < len ? (size_t)(upto - base) : len);
}

size_t fastcdc_feed(struct fastcdc *c, const uint8_t *data, size_t len, bool *cut)
{
	const uint32_t base = c->len, min = c->p.min_size;
	const uint32_t avg = c->p.avg_size, max = c->p.max_size;
	const uint64_t ms = c->mask_small, ml = c->mask_large;
	const uint8_t *p = data, *end = data + len, *stop;
	uint64_t fp = c->fp;

	*cut = false;
	if (!len)
		return 0;

	/*
	 * Chunk bytes before min - 64 would have been shifted out of fp by
	 * the first possible cut (L == min): do not even read them.
	 */
	stop = fastcdc_at(data, len, base, min - FASTCDC_WINDOW);
	if (p < stop)
		p = stop;

	/* Fill the window, 63 bytes with L < min: no cut yet. */
	stop = fastcdc_at(data, len, base, min - 1);
	while (p < stop)
		fp = (fp << 1) + fastcdc_gear[*p++];

	/* min <= L < avg: the strict mask. */
	stop = fastcdc_at(data, len, base, avg - 1);
	while (p < stop) {
		fp = (fp << 1) + fastcdc_gear[*p++];
		if (!(fp & ms))
			goto found;
	}

	/* avg <= L < max: the loose mask. */
	stop = fastcdc_at(data, len, base, max - 1);
	while (p < stop) {
		fp = (fp << 1) + fastcdc_gear[*p++];
		if (!(fp & ml))
			goto found;
	}

	/* L == max: the forced cut, whatever the byte. */
	if (p < end) {
		p++;
		goto found;
	}

	c->fp = fp;
	c->len = base + (uint32_t)len;
	return len;

found:
	*cut = true;
	fastcdc_reset(c);
	return (size_t)(p - data);
}
