/* Mainland China resident identity numbers (居民身份证号码, GB 11643-1999): 17 digits
 * (area code, date of birth YYYYMMDD, sequence) and a check digit, 0-9 or X. */
#pragma once

/* resident_id_problem: what is wrong with TEXT as a resident ID number, as a sentence
 * for the person at the desk (translated; static storage), or NULL when it is right or
 * is no resident ID number at all. TEXT is taken for one when, spaces left out, it is
 * 15 to 19 digits (an X or x allowed last): then it must be 18 characters long, hold a
 * real date of birth between 1900-01-01 and TODAY_YYYYMMDD (e.g. 20261207), and end in
 * the check digit of the other 17 (ISO 7064 MOD 11-2). Anything else (a passport number,
 * a short test number) is left to the caller's own rules. */
const char *resident_id_problem(const char *text, unsigned today_yyyymmdd);

/* resident_id_today: today's date as YYYYMMDD in the local time zone. */
unsigned resident_id_today(void);
