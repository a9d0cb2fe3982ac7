/* evalroom-provision: stand-alone front end of `evalroomctl provision` (see provision.h). */
#include "provision.h"

int main(int argc, char **argv)
{
	return provision_main(argc, argv);
}
