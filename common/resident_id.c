#include "resident_id.h"

#include <glib.h>
#include <glib/gi18n.h>
#include <stdbool.h>
#include <string.h>

unsigned resident_id_today(void)
{
	GDateTime *now = g_date_time_new_now_local();
	unsigned d =
	    (unsigned)(g_date_time_get_year(now) * 10000 + g_date_time_get_month(now) * 100 +
	               g_date_time_get_day_of_month(now));
	g_date_time_unref(now);
	return d;
}

static unsigned digits_at(const char *s, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	return v;
}

const char *resident_id_problem(const char *text, unsigned today_yyyymmdd)
{
	char id[20];
	size_t n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == ' ')
			continue;
		if (n == sizeof(id) - 1)
			return NULL; /* longer than any resident ID number: not one */
		id[n++] = *p;
	}
	id[n] = '\0';
	if (n < 15)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		bool last_x = i == n - 1 && (id[i] == 'X' || id[i] == 'x');
		if (!g_ascii_isdigit(id[i]) && !last_x)
			return NULL;
	}
	if (n == 15)
		return _("This is a 15-digit number of a first-generation ID card, which is no "
		         "longer valid: ask for the 18-digit number on the person's current card.");
	if (n != 18)
		return n < 18 ? _("A resident ID number has 18 characters; this one is too short: "
		                  "a digit is missing.")
		              : _("A resident ID number has 18 characters; this one is too long: "
		                  "a digit was typed twice.");
	unsigned year = digits_at(id + 6, 4), month = digits_at(id + 10, 2),
	         day = digits_at(id + 12, 2);
	unsigned born = year * 10000 + month * 100 + day;
	if (year < 1900 || !g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year) ||
	    born > today_yyyymmdd)
		return _("The date of birth in this resident ID number (characters 7 to 14) is not "
		         "a real date: a digit is mistyped.");
	static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	int sum = 0;
	for (int i = 0; i < 17; i++)
		sum += (id[i] - '0') * weight[i];
	char check = "10X98765432"[sum % 11];
	if (g_ascii_toupper(id[17]) != check)
		return _("The check digit of this resident ID number does not match the other 17 "
		         "digits: a digit is mistyped. Read the number from the card again.");
	return NULL;
}
