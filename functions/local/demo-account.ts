/**
 * The account public key `npm start` registers for its demo invoices (the README walkthrough registers account 1 of
 * the same mnemonic, since this one is registered already): m/1852'/1815'/0' of the test
 * mnemonic "test walk nut penalty hip pave soap entry language right filter choice", which CIP-19's test vectors
 * and the cardano-serialization-lib tests use. The mnemonic is published, so anyone can spend what its addresses
 * receive: a demo key, never one for real funds.
 */
export const DEMO_ACCOUNT_PUBLIC_KEY =
  'acct_xvk1eame4ge0x5yrwpuqs5eyw89kfmjpgfkfh02xzdx6c2k9k2swcr5clf0u634tm82x6nv2j750x3j7938g70ya4k0lv6pr59s7etw2vpqgfmule';

/** Its first external address (index 0, staking key 2/0) on every testnet (preprod, preview). */
export const DEMO_ACCOUNT_FIRST_TESTNET_ADDRESS =
  'addr_test1qz2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3jcu5d8ps7zex2k2xt3uqxgjqnnj83ws8lhrn648jjxtwq2ytjqp';

/** The same address on mainnet. */
export const DEMO_ACCOUNT_FIRST_MAINNET_ADDRESS =
  'addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3jcu5d8ps7zex2k2xt3uqxgjqnnj83ws8lhrn648jjxtwqfjkjv7';
